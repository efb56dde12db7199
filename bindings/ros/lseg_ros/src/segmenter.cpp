// ROS-independent parts of the lseg node (see include/lseg_ros/segmenter.h).
#include "lseg_ros/segmenter.h"

#include <cstdio>
#include <stdexcept>

namespace lseg_ros {

std::optional<lseg::PixelFormat> pixel_format(const std::string &e) {
  if (e == "rgb8") return lseg::PixelFormat::RGB8;
  if (e == "bgr8") return lseg::PixelFormat::BGR8;
  if (e == "rgba8") return lseg::PixelFormat::RGBA8;
  if (e == "bgra8") return lseg::PixelFormat::BGRA8;
  if (e == "mono8") return lseg::PixelFormat::GRAY8;
  return std::nullopt;
}

std::vector<std::string> split_labels(const std::string &list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    std::string item = list.substr(start, end - start);
    const size_t a = item.find_first_not_of(" \t\n\r");
    const size_t b = item.find_last_not_of(" \t\n\r");
    if (a != std::string::npos) out.push_back(item.substr(a, b - a + 1));
    start = end + 1;
  }
  return out;
}

std::vector<Rgb> palette(size_t n, const std::vector<std::string> &colors) {
  std::vector<Rgb> pal;
  pal.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (i < colors.size() && !colors[i].empty()) {
      unsigned r, g, b;
      const std::string &c = colors[i];
      if (c.size() != 7 || c[0] != '#' || std::sscanf(c.c_str() + 1, "%2x%2x%2x", &r, &g, &b) != 3)
        throw std::invalid_argument("palette colour \"" + c + "\" is not #rrggbb");
      pal.push_back({uint8_t(r), uint8_t(g), uint8_t(b)});
    } else {
      const auto c = lseg::label_color(uint32_t(i));  // lseg's palette, as the CLI draws
      pal.push_back({c[0], c[1], c[2]});
    }
  }
  return pal;
}

void colorize(const std::vector<uint16_t> &map, const std::vector<Rgb> &pal, std::vector<uint8_t> &rgb) {
  rgb.resize(map.size() * 3);
  for (size_t i = 0; i < map.size(); ++i) {
    const Rgb c = map[i] < pal.size() ? pal[map[i]] : Rgb{0, 0, 0};
    rgb[3 * i] = c.r;
    rgb[3 * i + 1] = c.g;
    rgb[3 * i + 2] = c.b;
  }
}

void overlay(const uint8_t *data, size_t step, lseg::PixelFormat f, uint32_t width, uint32_t height,
             const std::vector<uint16_t> &map, const std::vector<Rgb> &pal, float alpha,
             std::vector<uint8_t> &rgb) {
  const size_t ch = lseg::channels(f);
  const bool bgr = f == lseg::PixelFormat::BGR8 || f == lseg::PixelFormat::BGRA8;
  rgb.resize(size_t{width} * height * 3);
  for (uint32_t y = 0; y < height; ++y) {
    const uint8_t *row = data + y * step;
    for (uint32_t x = 0; x < width; ++x) {
      const size_t i = size_t{y} * width + x;
      const uint8_t *p = row + x * ch;
      uint8_t in[3];
      if (ch == 1) {
        in[0] = in[1] = in[2] = p[0];
      } else {
        in[0] = p[bgr ? 2 : 0];
        in[1] = p[1];
        in[2] = p[bgr ? 0 : 2];
      }
      const Rgb c = map[i] < pal.size() ? pal[map[i]] : Rgb{0, 0, 0};
      const uint8_t col[3] = {c.r, c.g, c.b};
      for (int k = 0; k < 3; ++k)
        rgb[3 * i + k] = uint8_t(float(in[k]) * (1.0f - alpha) + float(col[k]) * alpha + 0.5f);
    }
  }
}

static void json_string(std::string &out, const std::string &s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += char(c);
        }
    }
  }
  out += '"';
}

std::string label_info_json(uint32_t version, const std::vector<std::string> &names) {
  std::string out = "{\"version\": " + std::to_string(version) + ", \"labels\": [";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out += ", ";
    json_string(out, names[i]);
  }
  return out + "]}";
}

}  // namespace lseg_ros
