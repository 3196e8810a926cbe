// --target-identity's search (strength_search.hpp) against made-up distance curves: no models.
#include "aiportrait/strength_search.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>

using namespace aiportrait;

namespace {

// A probe over per-face curves distance = curve[j](strength), counting calls and probes.
struct Curves {
    std::vector<std::function<double(double)>> curve;
    int calls = 0;
    std::vector<std::vector<double>> asked;

    DistanceProbe probe() {
        asked.assign(curve.size(), {});
        return [this](const std::vector<std::size_t>& which, const std::vector<double>& strengths) {
            ++calls;
            std::vector<double> d;
            for (std::size_t k = 0; k < which.size(); ++k) {
                asked[which[k]].push_back(strengths[k]);
                d.push_back(curve[which[k]](strengths[k]));
            }
            return d;
        };
    }
};

}  // namespace

TEST(StrengthSearch, FindsTheStrengthOfALinearCurve) {
    Curves c{{[](double s) { return 0.7 * s; }}};
    const auto r = search_strengths(1, 0.42, c.probe());
    ASSERT_EQ(r.size(), 1u);
    EXPECT_TRUE(r[0].reached);
    EXPECT_NEAR(r[0].distance, 0.42, 0.03);
    EXPECT_NEAR(r[0].strength, 0.6, 0.05);
    EXPECT_EQ(r[0].evaluations, 3);  // 1, 0, then the interpolation lands on it
    EXPECT_EQ(r[0].best_evaluation, 2);
    EXPECT_EQ(c.asked[0][0], 1.0);
    EXPECT_EQ(c.asked[0][1], 0.0);
}

TEST(StrengthSearch, ConvergesOnACurvedResponseWithinTheBudget) {
    // Flat at first, steep at the end: plain regula falsi stalls on one side; Illinois does not.
    Curves c{{[](double s) { return 0.8 * std::pow(s, 4); }}};
    const auto r = search_strengths(1, 0.40, c.probe(), 0.03, 6);
    EXPECT_TRUE(r[0].reached) << r[0].distance << " at " << r[0].strength;
    EXPECT_LE(r[0].evaluations, 6);
    EXPECT_NEAR(std::pow(r[0].distance / 0.8, 0.25), r[0].strength, 1e-9);  // the pair belongs together
}

TEST(StrengthSearch, OutOfReachStopsEarlyWithTheClosest) {
    Curves c{{[](double s) { return 0.3 * s; },           // even strength 1 stays below 0.5
              [](double s) { return 0.6 + 0.2 * s; }}};   // even strength 0 is above 0.5
    const auto r = search_strengths(2, 0.5, c.probe());
    EXPECT_FALSE(r[0].reached);
    EXPECT_EQ(r[0].evaluations, 1);
    EXPECT_EQ(r[0].strength, 1.0);
    EXPECT_NEAR(r[0].distance, 0.3, 1e-12);
    EXPECT_FALSE(r[1].reached);
    EXPECT_EQ(r[1].evaluations, 2);
    EXPECT_EQ(r[1].strength, 0.0);
    EXPECT_EQ(r[1].best_evaluation, 1);
}

TEST(StrengthSearch, FacesAdvanceTogetherOneCallPerRound) {
    Curves c{{[](double s) { return 0.7 * s; }, [](double s) { return 0.5 * s + 0.1; },
              [](double s) { return 0.9 * s * s; }}};
    const auto r = search_strengths(3, 0.45, c.probe(), 0.03, 6);
    int most = 0;
    for (const auto& x : r) {
        EXPECT_TRUE(x.reached);
        most = std::max(most, x.evaluations);
    }
    EXPECT_EQ(c.calls, most);  // not one call per face per round
}

TEST(StrengthSearch, NoFacesNoCallsAndProbeErrorsPropagate) {
    Curves none;
    EXPECT_TRUE(search_strengths(0, 0.4, none.probe()).empty());
    EXPECT_EQ(none.calls, 0);
    const DistanceProbe broken = [](const std::vector<std::size_t>&, const std::vector<double>&) -> std::vector<double> {
        throw std::runtime_error("generator failed");
    };
    EXPECT_THROW(search_strengths(1, 0.4, broken), std::runtime_error);
}
