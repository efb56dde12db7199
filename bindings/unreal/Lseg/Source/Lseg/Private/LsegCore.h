// The engine-independent part of the Unreal plugin: no engine headers, only lseg.hpp in its
// no-exceptions mode (Unreal builds without exceptions and RTTI). Compiled and tested in CI
// with clang -stdlib=libc++ -fno-exceptions -fno-rtti (bindings/unreal/tests).
#pragma once

#include <lseg.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace lseg_unreal {

/// One label map: `width * height` label indices, row-major (row 0 = the frame's top row).
struct LabelMap {
  uint32_t width = 0, height = 0;
  uint32_t label_count = 0;
  std::vector<uint16_t> labels;
};

/// A model and its current label set. `segment_bgra` may run on worker threads while
/// `set_labels` replaces the set: a call uses the set that was current when it started.
class Core {
 public:
  /// Load `weights` (a .safetensors file); false and `error` on failure.
  bool load(const std::string &weights, std::string &error);
  /// Encode and switch to `labels`; false and `error` (the old set stays) on failure.
  bool set_labels(const std::vector<std::string> &labels, std::string &error);
  /// Segment BGRA8 pixels (Unreal's FColor order), `stride` bytes per row (0 = packed),
  /// single scale with long side `size` (0 = the frame's size).
  bool segment_bgra(const uint8_t *pixels, uint32_t width, uint32_t height, size_t stride, uint32_t size,
                    LabelMap &out, std::string &error) const;
  /// The label names in use.
  std::vector<std::string> labels() const;
  bool loaded() const { return static_cast<bool>(model_); }

 private:
  struct Set {
    lseg::Labels labels;
    std::vector<std::string> names;
  };
  std::shared_ptr<const lseg::Model> model_;
  mutable std::mutex mutex_;  // guards set_
  std::shared_ptr<const Set> set_;
};

/// lseg's colour of label index `label` (as the CLI and the ROS nodes draw it).
inline void label_color(uint32_t label, uint8_t &r, uint8_t &g, uint8_t &b) {
  const auto c = lseg::label_color(label);
  r = c[0];
  g = c[1];
  b = c[2];
}

}  // namespace lseg_unreal
