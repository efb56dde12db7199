// lseg C++ example: segment an image with labels from the command line and print the label
// histogram (the C++ twin of examples/c/segment.c: same arguments, same output).
//   segment [--size N] [--multi-scale] [--backend flex|ndarray|tch|cuda]
//           WEIGHTS.safetensors IMAGE.(png|jpg) LABEL [LABEL...]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <lseg.hpp>

int main(int argc, char **argv) {
  lseg::ModelOptions model_options;
  lseg::SegmentOptions options;
  int a = 1;
  for (; a < argc && std::strncmp(argv[a], "--", 2) == 0; a++) {
    const std::string arg = argv[a];
    if (arg == "--size" && a + 1 < argc) options.size = static_cast<uint32_t>(std::atoi(argv[++a]));
    else if (arg == "--multi-scale") options.mode = lseg::Mode::MultiScale;
    else if (arg == "--backend" && a + 1 < argc) {
      const std::string b = argv[++a];
      model_options.backend = b == "flex"      ? lseg::Backend::Flex
                              : b == "ndarray" ? lseg::Backend::Ndarray
                              : b == "tch"     ? lseg::Backend::TchCpu
                              : b == "cuda"    ? lseg::Backend::TchCuda
                                               : static_cast<lseg::Backend>(99);  // rejected by lseg
    } else break;
  }
  if (argc - a < 3) {
    std::fprintf(stderr, "usage: %s [--size N] [--multi-scale] [--backend flex|ndarray|tch|cuda] "
                         "WEIGHTS IMAGE LABEL [LABEL...]\nlseg %s\n", argv[0], lseg::version());
    return 2;
  }
  const std::vector<std::string> names(argv + a + 2, argv + argc);
  const char *stage = "load weights";
  try {
    lseg::Model model(argv[a], model_options);
    stage = "encode labels";
    lseg::Labels labels = model.encode_labels(names);
    stage = "load image";
    lseg::LoadedImage image(argv[a + 1], lseg::PixelFormat::RGB8);
    stage = "segment";
    lseg::Segmentation seg = model.segment(labels, image, options, lseg::Output::LabelMap);

    std::vector<size_t> hist(names.size());
    for (uint16_t label : seg.label_map) hist[label]++;
    const size_t pixels = seg.label_map.size();
    std::printf("%ux%u image, %zu labels\n", seg.width, seg.height, names.size());
    for (size_t i = 0; i < names.size(); i++)
      std::printf("%-24s %8zu px %6.2f%%\n", names[i].c_str(), hist[i],
                  100.0 * static_cast<double>(hist[i]) / static_cast<double>(pixels));
  } catch (const lseg::Error &e) {
    std::fprintf(stderr, "%s: %s: %s\n", stage, e.status_name(), e.what());
    return 1;
  }
  return 0;
}
