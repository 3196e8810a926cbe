#include "blazeface_views.hpp"

#include "aiportrait/detect.hpp"
#include "aiportrait/util.hpp"

#include <algorithm>
#include <cmath>

namespace aiportrait::blazeface {
namespace {

std::vector<int> tile_starts(int length, int side, int overlap) {
    if (side >= length) return {0};
    const int max_step = std::max(1, side - overlap);
    const int gaps = (length - side + max_step - 1) / max_step;
    std::vector<int> starts;
    for (int i = 0; i <= gaps; ++i)
        starts.push_back(static_cast<int>(std::lround(double(length - side) * i / gaps)));
    return starts;
}

}  // namespace

std::vector<View> plan_views(cv::Size size) {
    std::vector<View> views;
    const int longer = std::max(size.width, size.height);
    const int shorter = std::min(size.width, size.height);

    // The whole photo, letterboxed (centred) into the square input.
    View whole;
    whole.region = cv::Rect(0, 0, size.width, size.height);
    const float s = float(kNetSize) / longer;
    const cv::Size scaled = scaled_size(size.width, size.height, s);
    const int w = scaled.width, h = scaled.height;
    whole.scale = {float(w) / size.width, float(h) / size.height};
    whole.offset = {float((kNetSize - w) / 2), float((kNetSize - h) / 2)};
    views.push_back(whole);

    if (longer <= kFinestTile * kTileSlack) return views;

    const int levels = static_cast<int>(std::ceil(std::log2(double(longer) / kFinestTile)));
    const double ratio = std::pow(double(longer) / kFinestTile, 1.0 / levels);
    double parent = longer;  // side of the previous level's views
    for (int level = 1; level <= levels; ++level) {
        // A tile never exceeds the shorter side, so a strongly elongated photo's first level
        // is already much finer than its whole view; a level barely finer than its parent
        // (because of that cap) is skipped.
        const int side = std::min(shorter, static_cast<int>(std::lround(longer / std::pow(ratio, level))));
        // A strip a few pixels high would otherwise be cut into thousands of tiny tiles (minutes
        // of inference) that cannot hold a face worth a portrait anyway.
        if (side < kMinTileSide) break;
        if (side > 0.9 * parent) continue;
        const double parent_min_face = parent * kMinNetFace / kNetSize;
        const float keep = float(kTileKeepFactor * parent_min_face);
        const int overlap = std::min(side / 2, std::max(static_cast<int>(std::ceil(keep)),
                                                        static_cast<int>(side * kMinTileOverlap)));
        for (int y : tile_starts(size.height, side, overlap))
            for (int x : tile_starts(size.width, side, overlap)) {
                View v;
                v.region = cv::Rect(x, y, side, side);
                v.scale = {float(kNetSize) / side, float(kNetSize) / side};
                v.max_face = keep;
                v.cut_left = x > 0;
                v.cut_top = y > 0;
                v.cut_right = x + side < size.width;
                v.cut_bottom = y + side < size.height;
                views.push_back(v);
            }
        parent = side;
    }
    return views;
}

// MediaPipe's weighted NMS: the best remaining detection absorbs every other one overlapping
// it by at least `threshold` IoU; geometry is their score-weighted mean, score the maximum.
// Returned best first.
std::vector<Candidate> weighted_nms(std::vector<Candidate> candidates, float threshold) {
    std::sort(candidates.begin(), candidates.end(),
              [](const Candidate& a, const Candidate& b) { return a.score > b.score; });
    std::vector<bool> absorbed(candidates.size(), false);
    std::vector<Candidate> kept;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        if (absorbed[i]) continue;
        const Candidate& best = candidates[i];
        double wsum = 0, x0 = 0, y0 = 0, x1 = 0, y1 = 0;
        std::array<cv::Point2d, kNumKeypoints> kp{};
        for (std::size_t j = i; j < candidates.size(); ++j) {
            if (absorbed[j]) continue;
            const Candidate& c = candidates[j];
            if (j != i && iou(best.box, c.box) < threshold) continue;
            absorbed[j] = true;
            const double wgt = c.score;
            wsum += wgt;
            x0 += wgt * c.box.x;
            y0 += wgt * c.box.y;
            x1 += wgt * (c.box.x + c.box.width);
            y1 += wgt * (c.box.y + c.box.height);
            for (int k = 0; k < kNumKeypoints; ++k)
                kp[k] += wgt * cv::Point2d(c.kp[k].x, c.kp[k].y);
        }
        Candidate merged;
        merged.score = best.score;
        merged.box = cv::Rect2f(float(x0 / wsum), float(y0 / wsum), float((x1 - x0) / wsum),
                                float((y1 - y0) / wsum));
        for (int k = 0; k < kNumKeypoints; ++k)
            merged.kp[k] = cv::Point2f(float(kp[k].x / wsum), float(kp[k].y / wsum));
        kept.push_back(merged);
    }
    return kept;
}

// Drops detections lying mostly inside a bigger, better-scored one: a tile that sees only
// part of a face sometimes reports that part as a face, and IoU alone cannot catch it.
std::vector<Candidate> drop_contained(std::vector<Candidate> by_score) {
    constexpr float kContained = 0.5f;  // share of the smaller box inside the bigger one
    std::vector<Candidate> kept;
    for (const Candidate& c : by_score) {
        bool inside = false;
        for (const Candidate& k : kept)
            inside = inside || (k.box.area() > c.box.area() &&
                                (k.box & c.box).area() >= kContained * c.box.area());
        if (!inside) kept.push_back(c);
    }
    return kept;
}

}  // namespace aiportrait::blazeface
