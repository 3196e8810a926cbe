#include "blazeface_net.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <stdexcept>
#include <utility>

namespace aiportrait::blazeface {

std::vector<cv::Point2f> anchor_centres(int net_size) {
    std::vector<cv::Point2f> anchors;
    anchors.reserve(kFineAnchors + kCoarseAnchors);
    for (auto [grid, per_cell] : {std::pair{16, 2}, std::pair{8, 6}})
        for (int y = 0; y < grid; ++y)
            for (int x = 0; x < grid; ++x)
                for (int a = 0; a < per_cell; ++a)
                    anchors.emplace_back((x + 0.5f) / grid * net_size, (y + 0.5f) / grid * net_size);
    return anchors;
}

float sigmoid_score(float logit) {
    logit = std::clamp(logit, -100.f, 100.f);
    return 1.f / (1.f + std::exp(-logit));
}

namespace {

std::array<int, 4> output_order(cv::dnn::Net& net, const std::vector<std::string>& names, int net_size) {
    if (names.size() != 4) throw std::runtime_error("expected 4 outputs, found " + std::to_string(names.size()));
    const int dims[4] = {1, net_size, net_size, 3};
    net.setInput(cv::Mat(4, dims, CV_32F, cv::Scalar(0)));
    std::vector<cv::Mat> outs;
    net.forward(outs, names);
    std::array<int, 4> order = {-1, -1, -1, -1};
    for (int i = 0; i < 4; ++i) {
        const cv::Mat& o = outs[i];
        const int last = o.size[o.dims - 1];
        const int anchors = static_cast<int>(o.total()) / std::max(1, last);
        int slot = -1;
        if (last == 1 && anchors == kFineAnchors) slot = 0;
        if (last == 1 && anchors == kCoarseAnchors) slot = 1;
        if (last == kNumRegressors && anchors == kFineAnchors) slot = 2;
        if (last == kNumRegressors && anchors == kCoarseAnchors) slot = 3;
        if (slot < 0 || order[slot] >= 0) throw std::runtime_error("unexpected output shapes");
        order[slot] = i;
    }
    return order;
}

}  // namespace

Network::Network(const std::string& path, int size, const std::string& kind) : size_(size) {
    if (!std::ifstream(path, std::ios::binary)) throw std::runtime_error(path + ": " + kind + " model not found or unreadable");
    try {
        net_ = cv::dnn::readNetFromONNX(path);
    } catch (const cv::Exception& e) {
        throw std::runtime_error(path + ": cannot load " + kind + " model: " + e.err);
    }
    if (net_.empty()) throw std::runtime_error(path + ": cannot load " + kind + " model: empty network");
    net_.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    net_.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    try {
        names_ = net_.getUnconnectedOutLayersNames();
        order_ = output_order(net_, names_, size_);
    } catch (const cv::Exception& e) {  // e.g. the other BlazeFace: wrong input size
        throw std::runtime_error(path + ": not a " + kind + " model (" + e.err + ")");
    } catch (const std::exception& e) {
        throw std::runtime_error(path + ": not a " + kind + " model (" + e.what() + ")");
    }
}

Network::Outputs Network::forward(const cv::Mat& input) const {
    CV_Assert(input.type() == CV_32FC3 && input.rows == size_ && input.cols == size_ && input.isContinuous());
    const int dims[4] = {1, size_, size_, 3};
    cv::Mat blob(4, dims, CV_32F, const_cast<uchar*>(input.ptr()));
    std::vector<cv::Mat> outs;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        net_.setInput(blob);
        net_.forward(outs, names_);
        for (auto& o : outs) o = o.clone();  // the net reuses its buffers on the next run
    }
    return {outs[order_[0]], outs[order_[1]], outs[order_[2]], outs[order_[3]]};
}

}  // namespace aiportrait::blazeface
