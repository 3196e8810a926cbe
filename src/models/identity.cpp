// Identity yardstick: a LibTorch port of face-api.js's FaceRecognitionNet
// (@vladmandic/face-api 1.7.15, src/faceRecognitionNet/), reading the package's own
// tfjs weights manifest and .bin file at run time.
//
// Only this file includes torch, so that the rest of the project compiles quickly and never
// sees torch types. <torch/script.h> is enough for at:: ops and the inference guards.
#include "aiportrait/identity.hpp"

#include <torch/script.h>

#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>

namespace aiportrait {

namespace {

constexpr int kInputSize = 150;
constexpr const char* kManifestName = "face_recognition_model-weights_manifest.json";

// face-api.js FaceLandmarks.ts alignment constants: the box is eye-mouth distance / relScale
// wide, with the centre of (eyes, mouth) at (relX, relY) of the box.
constexpr double kRelX = 0.5;
constexpr double kRelY = 0.43;
constexpr double kRelScale = 0.45;

std::runtime_error load_error(const std::string& path, const std::string& what) {
    return std::runtime_error("IdentityNet: " + path + ": " + what);
}

std::vector<char> read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw load_error(path.string(), "cannot open file");
    std::vector<char> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) throw load_error(path.string(), "read error");
    return data;
}

// A conv layer of the net: conv + bias followed by a per-channel scale layer. The scale layer
// (x * w + b) is folded into the conv weights at load time, saving a full pass per layer.
struct ConvLayer {
    at::Tensor weight;  // OIHW, scale folded in
    at::Tensor bias;    // conv bias * scale + scale bias
};

struct Residual {
    ConvLayer conv1, conv2;
    bool down = false;  // conv1 is stride 2 'valid', shortcut is 2x2 average pooled
};

// tfjs 'same' for stride 1 and odd kernels pads (k-1)/2 on each side; 'valid' pads nothing.
at::Tensor conv(const at::Tensor& x, const ConvLayer& l, int64_t stride, bool same, bool relu) {
    const int64_t pad = same ? (l.weight.size(2) - 1) / 2 : 0;
    at::Tensor out = at::conv2d(x, l.weight, l.bias, {stride, stride}, {pad, pad});
    return relu ? at::relu_(out) : out;
}

// residualLayer.ts: residual() and residualDown().
at::Tensor residual(const at::Tensor& x, const Residual& r) {
    at::Tensor out = conv(x, r.conv1, r.down ? 2 : 1, !r.down, true);
    out = conv(out, r.conv2, 1, true, false);
    at::Tensor shortcut = x;
    if (r.down) {
        shortcut = at::avg_pool2d(x, {2, 2}, {2, 2});
        // An odd input gives a 'valid' stride-2 conv one row/column fewer than the pooling:
        // face-api appends zeros at the bottom/right of the conv branch.
        const int64_t dh = shortcut.size(2) - out.size(2), dw = shortcut.size(3) - out.size(3);
        if (dh > 0 || dw > 0) out = at::constant_pad_nd(out, {0, dw, 0, dh}, 0);
        // Channel-doubling blocks append zero channels to the shortcut.
        const int64_t dc = out.size(1) - shortcut.size(1);
        if (dc > 0) shortcut = at::constant_pad_nd(shortcut, {0, 0, 0, 0, 0, dc}, 0);
    }
    return at::relu_(out.add_(shortcut));
}

// Legacy tf.image.resizeBilinear (alignCorners = false, halfPixelCenters = false): output pixel
// i samples the input at i * in/out, no half-pixel offset. OpenCV's INTER_LINEAR uses half-pixel
// centres, so it is written out here to match face-api's tensor path.
cv::Mat resize_bilinear_legacy(const cv::Mat& src, int size) {
    CV_Assert(src.type() == CV_8UC3);
    cv::Mat dst(size, size, CV_8UC3);
    const double sy = double(src.rows) / size, sx = double(src.cols) / size;
    std::vector<int> x0(size), x1(size);
    std::vector<float> fx(size);
    for (int x = 0; x < size; ++x) {
        const double in = x * sx;
        x0[x] = std::min(int(std::floor(in)), src.cols - 1);
        x1[x] = std::min(x0[x] + 1, src.cols - 1);
        fx[x] = float(in - x0[x]);
    }
    for (int y = 0; y < size; ++y) {
        const double in = y * sy;
        const int y0 = std::min(int(std::floor(in)), src.rows - 1);
        const int y1 = std::min(y0 + 1, src.rows - 1);
        const float fy = float(in - y0);
        const auto* r0 = src.ptr<cv::Vec3b>(y0);
        const auto* r1 = src.ptr<cv::Vec3b>(y1);
        auto* out = dst.ptr<cv::Vec3b>(y);
        for (int x = 0; x < size; ++x) {
            for (int c = 0; c < 3; ++c) {
                const float top = r0[x0[x]][c] + (r0[x1[x]][c] - r0[x0[x]][c]) * fx[x];
                const float bot = r1[x0[x]][c] + (r1[x1[x]][c] - r1[x0[x]][c]) * fx[x];
                out[x][c] = cv::saturate_cast<uchar>(top + (bot - top) * fy);
            }
        }
    }
    return dst;
}

}  // namespace

struct IdentityNet::Impl {
    at::Device device = at::kCPU;
    ConvLayer conv32_down;
    std::vector<Residual> blocks;  // in forward order
    at::Tensor fc;                 // [256, 128]
};

namespace {

// Reads every tensor the manifest names, dequantised to float32, keyed by name.
std::map<std::string, at::Tensor> load_weight_map(const std::filesystem::path& dir) {
    const std::filesystem::path manifest_path = dir / kManifestName;
    if (!std::filesystem::is_directory(dir)) throw load_error(dir.string(), "not a directory");
    nlohmann::json manifest;
    try {
        const std::vector<char> text = read_file(manifest_path);
        manifest = nlohmann::json::parse(text.begin(), text.end());
    } catch (const nlohmann::json::exception& e) {
        throw load_error(manifest_path.string(), std::string("invalid JSON: ") + e.what());
    }

    std::map<std::string, at::Tensor> weights;
    try {
        if (!manifest.is_array() || manifest.empty()) throw std::runtime_error("expected a non-empty array of weight groups");
        for (const auto& group : manifest) {
            // A group's files are one byte stream, split into shards; tensors follow in order.
            std::vector<char> data;
            std::string files;
            for (const auto& p : group.at("paths")) {
                const auto shard = read_file(dir / p.get<std::string>());
                data.insert(data.end(), shard.begin(), shard.end());
                files += (files.empty() ? "" : ", ") + (dir / p.get<std::string>()).string();
            }
            size_t offset = 0;
            for (const auto& w : group.at("weights")) {
                const auto name = w.at("name").get<std::string>();
                const auto shape = w.at("shape").get<std::vector<int64_t>>();
                if (w.at("dtype").get<std::string>() != "float32")
                    throw std::runtime_error(name + ": unsupported dtype " + w.at("dtype").dump());
                int64_t count = 1;
                for (int64_t d : shape) count *= d;
                // Quantised tensors store q (uint8/uint16) with value = q * scale + min.
                std::string qtype = "float32";
                double scale = 1, min = 0;
                if (w.contains("quantization")) {
                    const auto& q = w.at("quantization");
                    qtype = q.at("dtype").get<std::string>();
                    scale = q.at("scale").get<double>();
                    min = q.at("min").get<double>();
                }
                const size_t elem = qtype == "uint8" ? 1 : qtype == "uint16" ? 2 : qtype == "float32" ? 4 : 0;
                if (elem == 0) throw std::runtime_error(name + ": unsupported quantization " + qtype);
                const size_t bytes = size_t(count) * elem;
                if (offset + bytes > data.size())
                    throw load_error(files, "weight data has " + std::to_string(data.size()) + " bytes, manifest needs more (at " + name + ")");
                at::Tensor t = at::empty(shape, at::kFloat);
                float* dst = t.data_ptr<float>();
                const char* src = data.data() + offset;
                for (int64_t i = 0; i < count; ++i) {
                    if (elem == 4) {
                        std::memcpy(dst + i, src + 4 * i, 4);
                    } else if (elem == 1) {
                        dst[i] = float(uint8_t(src[i]) * scale + min);
                    } else {
                        uint16_t q;
                        std::memcpy(&q, src + 2 * i, 2);
                        dst[i] = float(q * scale + min);
                    }
                }
                offset += bytes;
                weights[name] = t;
            }
            if (offset != data.size())
                throw load_error(files, "weight data has " + std::to_string(data.size()) + " bytes, manifest describes " + std::to_string(offset));
        }
    } catch (const nlohmann::json::exception& e) {
        throw load_error(manifest_path.string(), std::string("malformed manifest: ") + e.what());
    } catch (const std::runtime_error& e) {
        const std::string msg = e.what();
        if (msg.rfind("IdentityNet:", 0) == 0) throw;
        throw load_error(manifest_path.string(), msg);
    }
    return weights;
}

ConvLayer take_conv(std::map<std::string, at::Tensor>& map, const std::string& prefix, int64_t in,
                    int64_t out, int64_t k, const std::string& manifest) {
    auto take = [&](const std::string& name, std::vector<int64_t> shape) {
        auto it = map.find(name);
        if (it == map.end()) throw load_error(manifest, "missing tensor " + name);
        if (it->second.sizes().vec() != shape)
            throw load_error(manifest, "tensor " + name + " has shape " + c10::str(it->second.sizes()));
        return it->second;
    };
    at::Tensor filters = take(prefix + "/conv/filters", {k, k, in, out});
    at::Tensor bias = take(prefix + "/conv/bias", {out});
    at::Tensor sw = take(prefix + "/scale/weights", {out});
    at::Tensor sb = take(prefix + "/scale/biases", {out});
    ConvLayer l;
    // tfjs filters are HWIO; torch wants OIHW.
    l.weight = (filters.permute({3, 2, 0, 1}) * sw.view({out, 1, 1, 1})).contiguous();
    l.bias = (bias * sw + sb).contiguous();
    return l;
}

}  // namespace

double descriptor_distance(const Descriptor& a, const Descriptor& b) {
    double sum = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        const double d = double(a[i]) - double(b[i]);
        sum += d * d;
    }
    return std::sqrt(sum);
}

IdentityNet::IdentityNet(const std::string& model_dir, Device device) : impl_(std::make_unique<Impl>()) {
    c10::InferenceMode guard;
    if (device == Device::cuda) {
        if (!at::hasCUDA()) throw load_error(model_dir, "--device cuda: this LibTorch build has no CUDA device");
        impl_->device = at::Device(at::kCUDA);
    }
    const std::filesystem::path dir(model_dir);
    const std::string manifest = (dir / kManifestName).string();
    auto map = load_weight_map(dir);

    impl_->conv32_down = take_conv(map, "conv32_down", 3, 32, 7, manifest);
    // FaceRecognitionNet.ts forwardInput(): ResNet-34-like stages of 32, 64, 128, 256 channels.
    struct Spec { const char* name; int64_t in, out; bool down; };
    const Spec specs[] = {
        {"conv32_1", 32, 32, false},    {"conv32_2", 32, 32, false},    {"conv32_3", 32, 32, false},
        {"conv64_down", 32, 64, true},  {"conv64_1", 64, 64, false},    {"conv64_2", 64, 64, false},
        {"conv64_3", 64, 64, false},    {"conv128_down", 64, 128, true}, {"conv128_1", 128, 128, false},
        {"conv128_2", 128, 128, false}, {"conv256_down", 128, 256, true}, {"conv256_1", 256, 256, false},
        {"conv256_2", 256, 256, false}, {"conv256_down_out", 256, 256, true},
    };
    for (const Spec& s : specs) {
        Residual r;
        r.down = s.down;
        r.conv1 = take_conv(map, std::string(s.name) + "/conv1", s.in, s.out, 3, manifest);
        r.conv2 = take_conv(map, std::string(s.name) + "/conv2", s.out, s.out, 3, manifest);
        impl_->blocks.push_back(std::move(r));
    }
    auto fc = map.find("fc");
    if (fc == map.end() || fc->second.sizes().vec() != std::vector<int64_t>{256, 128})
        throw load_error(manifest, "missing tensor fc of shape [256, 128]");
    impl_->fc = fc->second;
    if (impl_->device.is_cuda()) {
        auto to_device = [&](ConvLayer& l) {
            l.weight = l.weight.to(impl_->device);
            l.bias = l.bias.to(impl_->device);
        };
        to_device(impl_->conv32_down);
        for (Residual& r : impl_->blocks) {
            to_device(r.conv1);
            to_device(r.conv2);
        }
        impl_->fc = impl_->fc.to(impl_->device);
    }
}

IdentityNet::~IdentityNet() = default;


cv::Mat IdentityNet::prepare_crop(const cv::Mat& bgr, const Landmarks& lm) {
    if (bgr.empty() || bgr.type() != CV_8UC3) throw std::invalid_argument("IdentityNet::prepare_crop: expected a CV_8UC3 image");
    // FaceLandmarks.alignDlib(): reference points are the two eye centres and the mouth centre.
    const cv::Point2d eye_l(lm[kEyeL]), eye_r(lm[kEyeR]);
    const cv::Point2d mouth = (cv::Point2d(lm[kMouthL]) + cv::Point2d(lm[kMouthR])) * 0.5;
    const double eye_to_mouth = (cv::norm(mouth - eye_l) + cv::norm(mouth - eye_r)) / 2;
    const double size = std::floor(eye_to_mouth / kRelScale);
    const cv::Point2d ref = (eye_l + eye_r + mouth) / 3.0;
    if (!std::isfinite(size) || !std::isfinite(ref.x) || !std::isfinite(ref.y) || size < 1)
        throw std::invalid_argument("IdentityNet::prepare_crop: degenerate landmarks");
    // face-api clamps the top-left corner at 0 keeping the size (the box slides inwards),
    // then extractFaceTensors clips the right/bottom at the image border (Box.clipAtImageBorders).
    const double x = std::floor(std::max(0.0, ref.x - kRelX * size));
    const double y = std::floor(std::max(0.0, ref.y - kRelY * size));
    const double w = std::min(size, bgr.cols - x), h = std::min(size, bgr.rows - y);
    if (w < 1 || h < 1) throw std::invalid_argument("IdentityNet::prepare_crop: face box lies outside the image");
    const cv::Mat face = bgr(cv::Rect(int(x), int(y), int(w), int(h)));

    // NetInput.toBatchTensor(150, true) on a tensor: padToSquare centred with zeros (the larger
    // half, Math.round(diff / 2), after the image), then legacy bilinear resize to 150x150.
    const int diff = std::abs(face.rows - face.cols);
    const int after = int(std::floor(diff * 0.5 + 0.5)), before = diff - after;
    cv::Mat square;
    if (face.rows > face.cols)
        cv::copyMakeBorder(face, square, 0, 0, before, after, cv::BORDER_CONSTANT | cv::BORDER_ISOLATED, cv::Scalar::all(0));
    else
        cv::copyMakeBorder(face, square, before, after, 0, 0, cv::BORDER_CONSTANT | cv::BORDER_ISOLATED, cv::Scalar::all(0));
    if (square.rows == kInputSize) return square.clone();
    return resize_bilinear_legacy(square, kInputSize);
}

std::vector<Descriptor> IdentityNet::run(const std::vector<cv::Mat>& crops) const {
    std::vector<Descriptor> result(crops.size());
    if (crops.empty()) return result;
    c10::InferenceMode guard;
    const int64_t n = int64_t(crops.size());
    at::Tensor batch = at::empty({n, kInputSize, kInputSize, 3}, at::kByte);
    for (int64_t i = 0; i < n; ++i) {
        const cv::Mat& c = crops[size_t(i)];
        if (c.rows != kInputSize || c.cols != kInputSize || c.type() != CV_8UC3)
            throw std::invalid_argument("IdentityNet::run: crops must be 150x150 CV_8UC3 (use prepare_crop)");
        cv::Mat rgb(kInputSize, kInputSize, CV_8UC3, batch[i].data_ptr<uint8_t>());
        cv::cvtColor(c, rgb, cv::COLOR_BGR2RGB);
    }
    // FaceRecognitionNet.forwardInput(): subtract the RGB mean, then divide by 255.
    const Impl& m = *impl_;
    const at::Tensor mean = at::tensor({122.782f, 117.001f, 104.298f}).view({1, 3, 1, 1}).to(m.device);
    at::Tensor x = batch.to(m.device).permute({0, 3, 1, 2}).to(at::kFloat).sub_(mean).div_(255.f).contiguous();

    x = conv(x, m.conv32_down, 2, false, true);
    x = at::max_pool2d(x, {3, 3}, {2, 2});
    for (const Residual& r : m.blocks) x = residual(x, r);
    at::Tensor desc = at::matmul(x.mean({2, 3}), m.fc).to(at::kCPU).contiguous();  // [n, 128]

    const float* p = desc.data_ptr<float>();
    for (int64_t i = 0; i < n; ++i) std::copy(p + i * 128, p + (i + 1) * 128, result[size_t(i)].begin());
    return result;
}

}  // namespace aiportrait
