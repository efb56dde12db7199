// Tests of the Unreal plugin's engine-independent core (Source/Lseg/Private/LsegCore.*),
// built as Unreal builds C++ on Linux: clang, libc++, -fno-exceptions, -fno-rtti.
//   test_core C_FIXTURES
#include "LsegCore.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <thread>
#include <vector>

static int failures = 0, checks = 0;
#define CHECK(c)                                                       \
  do {                                                                 \
    ++checks;                                                          \
    if (!(c)) {                                                        \
      ++failures;                                                      \
      std::fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c); \
    }                                                                  \
  } while (0)

static std::vector<uint8_t> read_file(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: test_core C_FIXTURES\n");
    return 2;
  }
  const std::string dir = argv[1];
  const uint32_t W = 100, H = 70;
  std::vector<uint8_t> rgb = read_file(dir + "/image_100x70.rgb");
  CHECK(rgb.size() == W * H * 3);
  // Unreal's FColor memory order: B, G, R, A.
  std::vector<uint8_t> bgra(W * H * 4);
  for (size_t i = 0; i < W * H; ++i) {
    bgra[4 * i] = rgb[3 * i + 2];
    bgra[4 * i + 1] = rgb[3 * i + 1];
    bgra[4 * i + 2] = rgb[3 * i];
    bgra[4 * i + 3] = 255;
  }
  std::vector<uint8_t> ref_bytes = read_file(dir + "/ref_single_labels.u16");
  std::vector<uint16_t> ref(ref_bytes.size() / 2);
  std::memcpy(ref.data(), ref_bytes.data(), ref_bytes.size());

  lseg_unreal::Core core;
  std::string error;
  lseg_unreal::LabelMap map;
  CHECK(!core.loaded());
  CHECK(!core.segment_bgra(bgra.data(), W, H, 0, 96, map, error) && error == "no model loaded");
  CHECK(!core.load("/no/such.safetensors", error) && error.find("/no/such.safetensors") != std::string::npos);
  CHECK(core.load(dir + "/tiny_vit16.safetensors", error));
  CHECK(!core.segment_bgra(bgra.data(), W, H, 0, 96, map, error) && error == "no labels set");
  CHECK(core.set_labels({"dog", "grass", "other", "a red car", "sky"}, error));
  CHECK(core.segment_bgra(bgra.data(), W, H, 0, 96, map, error));
  CHECK(map.width == W && map.height == H && map.label_count == 5);
  CHECK(map.labels == ref);  // bit for bit the C tests' reference (RGB input)
  // A padded stride reads the same pixels.
  std::vector<uint8_t> padded(H * (W * 4 + 12));
  for (uint32_t y = 0; y < H; ++y) std::memcpy(&padded[y * (W * 4 + 12)], &bgra[y * W * 4], W * 4);
  lseg_unreal::LabelMap map2;
  CHECK(core.segment_bgra(padded.data(), W, H, W * 4 + 12, 96, map2, error) && map2.labels == ref);
  // Bad input: a clear error, the state unchanged.
  CHECK(!core.set_labels({"dog", ""}, error) && !error.empty());
  CHECK(core.labels().size() == 5);
  CHECK(!core.segment_bgra(bgra.data(), W, H, 8, 96, map2, error) && error.find("stride") != std::string::npos);
  CHECK(!core.segment_bgra(nullptr, W, H, 0, 96, map2, error) && !error.empty());
  CHECK(!core.segment_bgra(bgra.data(), 0, H, 0, 96, map2, error) && !error.empty());
  // Label sets replaced while two threads segment: every map uses one complete set.
  std::vector<uint16_t> ref2;
  {
    lseg_unreal::Core other;
    CHECK(other.load(dir + "/tiny_vit16.safetensors", error) && other.set_labels({"sky", "dog"}, error));
    lseg_unreal::LabelMap m;
    CHECK(other.segment_bgra(bgra.data(), W, H, 0, 96, m, error));
    ref2 = m.labels;
  }
  int mixed = 0;
  std::thread workers[2];
  for (auto &t : workers)
    t = std::thread([&] {
      for (int k = 0; k < 6; ++k) {
        lseg_unreal::LabelMap m;
        std::string e;
        if (!core.segment_bgra(bgra.data(), W, H, 0, 96, m, e) || !(m.labels == ref || m.labels == ref2)) ++mixed;
      }
    });
  for (int k = 0; k < 6; ++k) {
    std::string e;
    CHECK(core.set_labels(k % 2 ? std::vector<std::string>{"dog", "grass", "other", "a red car", "sky"}
                                : std::vector<std::string>{"sky", "dog"},
                          e));
  }
  for (auto &t : workers) t.join();
  CHECK(mixed == 0);
  uint8_t r, g, b;
  lseg_unreal::label_color(1, r, g, b);
  const auto c = lseg::label_color(1);
  CHECK(r == c[0] && g == c[1] && b == c[2]);
  std::printf("unreal core: %d checks, %d failed\n", checks, failures);
  return failures ? 1 : 0;
}
