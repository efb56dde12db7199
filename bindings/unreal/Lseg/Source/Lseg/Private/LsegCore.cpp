// See LsegCore.h. No engine headers here.
#include "LsegCore.h"

namespace lseg_unreal {

bool Core::load(const std::string &weights, std::string &error) {
  auto m = lseg::Model::try_load(weights);
  if (!m) {
    error = m.error().what();
    return false;
  }
  model_ = std::make_shared<const lseg::Model>(std::move(m.value()));
  std::lock_guard<std::mutex> lock(mutex_);
  set_.reset();
  return true;
}

bool Core::set_labels(const std::vector<std::string> &labels, std::string &error) {
  if (!model_) {
    error = "no model loaded";
    return false;
  }
  auto l = model_->try_encode_labels(labels);
  if (!l) {
    error = l.error().what();
    return false;
  }
  auto set = std::make_shared<const Set>(Set{std::move(l.value()), labels});
  std::lock_guard<std::mutex> lock(mutex_);
  set_ = std::move(set);
  return true;
}

std::vector<std::string> Core::labels() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return set_ ? set_->names : std::vector<std::string>{};
}

bool Core::segment_bgra(const uint8_t *pixels, uint32_t width, uint32_t height, size_t stride, uint32_t size,
                        LabelMap &out, std::string &error) const {
  std::shared_ptr<const Set> set;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    set = set_;
  }
  if (!model_ || !set) {
    error = model_ ? "no labels set" : "no model loaded";
    return false;
  }
  lseg::SegmentOptions opts;
  opts.size = size;
  const lseg::Image img = lseg::Image::view(pixels, width, height, lseg::PixelFormat::BGRA8, stride);
  auto seg = model_->try_segment(set->labels, img, opts, lseg::Output::LabelMap);
  if (!seg) {
    error = seg.error().what();
    return false;
  }
  out.width = width;
  out.height = height;
  out.label_count = uint32_t(set->names.size());
  out.labels = std::move(seg.value().label_map);
  return true;
}

}  // namespace lseg_unreal
