// ROS-independent parts of the lseg node: encodings, label lists, palette, colour images,
// label metadata. Unit-testable without a ROS master.
#pragma once

#include <lseg.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lseg_ros {

/// The lseg pixel format of a sensor_msgs/Image encoding read without conversion (rgb8, bgr8,
/// rgba8, bgra8, mono8), or nullopt.
std::optional<lseg::PixelFormat> pixel_format(const std::string &encoding);

/// A comma-separated label list: trimmed, empty items dropped.
std::vector<std::string> split_labels(const std::string &list);

struct Rgb {
  uint8_t r, g, b;
};

/// Colours of `n` labels: `colors` ("#rrggbb" strings; an empty one keeps lseg's colour)
/// first, then lseg's palette (`lseg::label_color`, the CLI's and the ROS 2 node's colours).
/// Throws std::invalid_argument on a malformed colour.
std::vector<Rgb> palette(size_t n, const std::vector<std::string> &colors);

/// rgb8 colour image of a label map.
void colorize(const std::vector<uint16_t> &map, const std::vector<Rgb> &pal, std::vector<uint8_t> &rgb);

/// rgb8 blend of the input image with the colour image (`alpha` of the colour).
void overlay(const uint8_t *data, size_t step, lseg::PixelFormat f, uint32_t width, uint32_t height,
             const std::vector<uint16_t> &map, const std::vector<Rgb> &pal, float alpha,
             std::vector<uint8_t> &rgb);

/// The latched label metadata: {"version": v, "labels": [...]} (JSON, strings escaped).
std::string label_info_json(uint32_t version, const std::vector<std::string> &names);

}  // namespace lseg_ros
