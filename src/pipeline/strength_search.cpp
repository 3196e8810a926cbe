#include "aiportrait/strength_search.hpp"

#include <algorithm>
#include <cmath>

namespace aiportrait {

std::vector<StrengthSearchResult> search_strengths(std::size_t faces, double target, const DistanceProbe& probe,
                                                   double tolerance, int budget) {
    struct Bracket {
        double lo = 0, hi = 1, d_lo = NAN, d_hi = NAN;
        bool done = false;
        int side = 0;  // Illinois: which end was kept last time
    };
    std::vector<Bracket> bracket(faces);
    std::vector<StrengthSearchResult> result(faces);
    std::vector<bool> seen(faces, false);
    for (int round = 0; round < budget; ++round) {
        std::vector<std::size_t> active;
        std::vector<double> strengths;
        for (std::size_t j = 0; j < faces; ++j) {
            const Bracket& b = bracket[j];
            if (b.done) continue;
            const int evals = result[j].evaluations;
            double next;
            if (evals == 0) next = 1.0;
            else if (evals == 1) next = 0.0;
            else if (b.d_hi != b.d_lo) next = b.lo + (target - b.d_lo) * (b.hi - b.lo) / (b.d_hi - b.d_lo);
            else next = 0.5 * (b.lo + b.hi);
            active.push_back(j);
            strengths.push_back(std::clamp(next, std::min(b.lo, b.hi), std::max(b.lo, b.hi)));
        }
        if (active.empty()) break;
        const std::vector<double> d = probe(active, strengths);
        for (std::size_t k = 0; k < active.size(); ++k) {
            const std::size_t j = active[k];
            Bracket& b = bracket[j];
            StrengthSearchResult& r = result[j];
            const double st = strengths[k], dist = d.at(k);
            if (!seen[j] || std::abs(dist - target) < std::abs(r.distance - target)) {
                seen[j] = true;
                r.distance = dist;
                r.strength = st;
                r.best_evaluation = r.evaluations;
            }
            ++r.evaluations;
            if (std::abs(dist - target) <= tolerance) { b.done = true; continue; }
            if (r.evaluations == 1) {
                b.hi = st; b.d_hi = dist;
                if (dist < target) b.done = true;  // even full strength stays closer: best reachable
                continue;
            }
            if (r.evaluations == 2) {
                b.lo = st; b.d_lo = dist;
                if (dist > target) b.done = true;  // even strength 0 is farther: best reachable
                continue;
            }
            if (dist < target) {
                b.lo = st; b.d_lo = dist;
                if (b.side == -1) b.d_hi = target + (b.d_hi - target) / 2;
                b.side = -1;
            } else {
                b.hi = st; b.d_hi = dist;
                if (b.side == 1) b.d_lo = target + (b.d_lo - target) / 2;
                b.side = 1;
            }
        }
    }
    for (std::size_t j = 0; j < faces; ++j) result[j].reached = std::abs(result[j].distance - target) <= tolerance;
    return result;
}

}  // namespace aiportrait
