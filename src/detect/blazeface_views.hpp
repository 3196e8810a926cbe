// BlazeFace internals (detect_blazeface.cpp, blazeface_views.cpp): which views of a photo the
// network sees (the whole letterboxed photo, then a pyramid of overlapping tiles), and how
// their detections are merged.
#pragma once

#include <opencv2/core.hpp>

#include <array>
#include <limits>
#include <vector>

namespace aiportrait::blazeface {

constexpr int kNetSize = 256;
constexpr int kNumKeypoints = 6;

// Tiling. The net finds faces down to ~kMinNetFace px of its 256-px view reliably (measured
// on faces pasted small into large canvases, at score 0.7: 12 px found about half the time,
// 16 px nearly always), so a view of side S covers faces from S * 16 / 256 up.
// Large photos are also cut into square tiles, level by level, with the tile side shrinking
// by the same ratio r <= 2 per level down to kFinestTile (faces of ~32 px; smaller ones are
// too small to be worth a portrait and finer tiles would multiply the run time).
// A tile keeps faces up to kTileKeepFactor times its parent level's smallest reliable face.
// Bigger ones are its parent's business, and in a tile they are mostly parts of a bigger face
// (an eye region, a chin) seen as a whole face: on the eval photos, keeping them all raised
// the false detections at score 0.5 from 6 to 46. Only a very confident one (kOversizeTileScore) is
// kept, for the rare face the parent misses at any size (heavy make-up, strong tilt).
// Tiles overlap by at least the keep size (and kMinTileOverlap of their side), so every face
// a level keeps lies wholly in some tile; faces cut by every tile are big enough for the parent.
constexpr float kMinNetFace = 16.f;
constexpr float kTileKeepFactor = 2.f;
constexpr float kOversizeTileScore = 0.85f;
constexpr float kMinTileOverlap = 0.25f;
constexpr int kFinestTile = 512;
constexpr int kMinTileSide = 64;
// Photos whose whole view already resolves faces nearly as small as the finest tiles would
// (within this factor) are not tiled: the extra inferences would gain only a few pixels.
constexpr float kTileSlack = 1.25f;
// A tile detection that comes within this many net pixels of an edge shared with a
// neighbouring tile is cut there; the neighbour sees the face whole.
constexpr float kCutMarginNet = 2.f;

struct Candidate {
    float score = 0.f;
    cv::Rect2f box;
    std::array<cv::Point2f, kNumKeypoints> kp{};
};

// One network pass: a region of the working image, resized by `scale` (net px per image px,
// per axis) and placed at `offset` of the 256x256 input. Tiles drop detections that touch
// an edge shared with another tile: the face is cut there and a neighbour sees it whole.
struct View {
    cv::Rect region;
    cv::Point2f scale;
    cv::Point2f offset;
    float max_face = std::numeric_limits<float>::infinity();  // box width, working-image px
    bool cut_left = false, cut_top = false, cut_right = false, cut_bottom = false;
};

// Every view of an image of `size` the network should see: the whole, then the tiles.
std::vector<View> plan_views(cv::Size size);

// MediaPipe's weighted NMS: overlapping candidates (IoU > threshold) averaged by score.
std::vector<Candidate> weighted_nms(std::vector<Candidate> candidates, float threshold);

// Drops candidates mostly inside a more confident one (parts of a face taken for faces).
std::vector<Candidate> drop_contained(std::vector<Candidate> by_score);

}  // namespace aiportrait::blazeface
