/* lseg C example: segment an image with labels from the command line and print the label
 * histogram.
 *   segment [--size N] [--multi-scale] [--backend flex|ndarray|tch|cuda]
 *           WEIGHTS.safetensors IMAGE.(png|jpg) LABEL [LABEL...]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lseg.h>

static int fail(const char *what, lseg_status s) {
  fprintf(stderr, "%s: %s: %s\n", what, lseg_status_name(s), lseg_last_error());
  return 1;
}

int main(int argc, char **argv) {
  lseg_model_params mp = lseg_model_params_default();
  lseg_segment_params sp = lseg_segment_params_default();
  lseg_segment_outputs out = lseg_segment_outputs_default();
  lseg_model *model = NULL;
  lseg_labels *labels = NULL;
  lseg_image image;
  lseg_status s;
  size_t n, i, pixels, *hist;
  uint16_t *label_map;
  int a = 1;

  for (; a < argc && strncmp(argv[a], "--", 2) == 0; a++) {
    if (strcmp(argv[a], "--size") == 0 && a + 1 < argc) sp.size = (uint32_t)atoi(argv[++a]);
    else if (strcmp(argv[a], "--multi-scale") == 0) sp.mode = LSEG_MODE_MULTI_SCALE;
    else if (strcmp(argv[a], "--backend") == 0 && a + 1 < argc) {
      const char *b = argv[++a];
      mp.backend = strcmp(b, "flex") == 0      ? LSEG_BACKEND_FLEX
                   : strcmp(b, "ndarray") == 0 ? LSEG_BACKEND_NDARRAY
                   : strcmp(b, "tch") == 0     ? LSEG_BACKEND_TCH_CPU
                   : strcmp(b, "cuda") == 0    ? LSEG_BACKEND_TCH_CUDA
                                               : 99; /* rejected by lseg_create */
    } else break;
  }
  if (argc - a < 3) {
    fprintf(stderr, "usage: %s [--size N] [--multi-scale] [--backend flex|ndarray|tch|cuda] "
                    "WEIGHTS IMAGE LABEL [LABEL...]\n"
                    "lseg %s\n", argv[0], lseg_version());
    return 2;
  }
  mp.weights_path = argv[a];
  if ((s = lseg_create(&mp, &model)) != LSEG_OK) return fail("load weights", s);
  n = (size_t)(argc - a - 2);
  s = lseg_encode_labels(model, (const char *const *)(argv + a + 2), n, &labels);
  if (s != LSEG_OK) return fail("encode labels", s);
  if ((s = lseg_image_load(argv[a + 1], LSEG_PIXEL_FORMAT_RGB8, &image)) != LSEG_OK)
    return fail("load image", s);

  pixels = (size_t)image.width * image.height;
  label_map = (uint16_t *)malloc(pixels * sizeof *label_map);
  hist = (size_t *)calloc(n, sizeof *hist);
  out.label_map = label_map;
  out.label_map_len = pixels;
  if ((s = lseg_segment(model, labels, &image, &sp, &out)) != LSEG_OK)
    return fail("segment", s);

  for (i = 0; i < pixels; i++) hist[label_map[i]]++;
  printf("%ux%u image, %zu labels\n", image.width, image.height, n);
  for (i = 0; i < n; i++)
    printf("%-24s %8zu px %6.2f%%\n", argv[a + 2 + i], hist[i], 100.0 * (double)hist[i] / (double)pixels);

  free(hist);
  free(label_map);
  lseg_image_free(&image);
  lseg_labels_free(labels);
  lseg_free(model);
  return 0;
}
