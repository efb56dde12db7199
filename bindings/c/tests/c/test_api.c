/* Unit tests of the lseg C API: parity with the Rust API on the tiny fixture (references
 * written by tests/capi.rs), and every entry point with NULL and invalid arguments.
 * Usage: test_api [C-FIXTURES-DIR] [REPO-FIXTURES-DIR] */
#include <math.h>

#include "test.h"

static uint8_t *g_rgb; /* T_W x T_H packed RGB test image */

/* Equal to the Rust API's results: bit for bit by default. LSEG_TEST_RTOL (set for the
 * valgrind run, whose CPUID hides AVX-512 and so selects other SIMD kernels with another
 * summation order) allows max|a-b| <= rtol * max(1, max|b|). */
static int same_f32(const float *a, const float *b, size_t n) {
  const char *env = getenv("LSEG_TEST_RTOL");
  double rtol = env ? atof(env) : 0.0, diff = 0.0, mag = 1.0;
  size_t i;
  if (rtol == 0.0) return memcmp(a, b, n * sizeof(float)) == 0;
  for (i = 0; i < n; i++) {
    double d = fabs((double)a[i] - (double)b[i]);
    if (!(d <= diff)) diff = d; /* NaN counts as a difference */
    if (fabs((double)b[i]) > mag) mag = fabs((double)b[i]);
  }
  if (!(diff <= rtol * mag)) fprintf(stderr, "  max |a-b| = %g > %g\n", diff, rtol * mag);
  return diff <= rtol * mag;
}

static void test_version_and_status_names(void) {
  int i, j;
  CHECK(strcmp(lseg_version(), LSEG_VERSION_STRING) == 0);
  CHECK(lseg_abi_version() == LSEG_ABI_VERSION);
  CHECK(LSEG_VERSION_MAJOR == 0 && LSEG_VERSION_MINOR >= 1);
  CHECK(strcmp(lseg_status_name(LSEG_OK), "LSEG_OK") == 0);
  CHECK(strcmp(lseg_status_name(LSEG_ERR_BUFFER_TOO_SMALL), "LSEG_ERR_BUFFER_TOO_SMALL") == 0);
  CHECK(strcmp(lseg_status_name(-1), "LSEG_UNKNOWN_STATUS") == 0);
  CHECK(strcmp(lseg_status_name(1000), "LSEG_UNKNOWN_STATUS") == 0);
  for (i = 0; i <= LSEG_ERR_INTERNAL; i++) {
    CHECK(strncmp(lseg_status_name(i), "LSEG_", 5) == 0);
    CHECK(strcmp(lseg_status_name(i), "LSEG_UNKNOWN_STATUS") != 0);
    for (j = 0; j < i; j++) CHECK(strcmp(lseg_status_name(i), lseg_status_name(j)) != 0);
  }
  CHECK(lseg_last_error() != NULL);
}

static void test_backends(void) {
  lseg_model_params p = lseg_model_params_default();
  lseg_model *m = (lseg_model *)0x1;
  CHECK(lseg_backend_is_compiled(LSEG_BACKEND_DEFAULT));
  CHECK(lseg_backend_is_compiled(LSEG_BACKEND_FLEX) || lseg_backend_is_compiled(LSEG_BACKEND_NDARRAY) ||
        lseg_backend_is_compiled(LSEG_BACKEND_TCH_CPU));
  CHECK(!lseg_backend_is_compiled(99));
  CHECK_MSG("backend");
  p.weights_path = t_path(t_fixtures, "tiny_vit16.safetensors");
  /* A backend that is not compiled in, or CUDA without a device: a clear error. */
  if (!lseg_backend_is_compiled(LSEG_BACKEND_TCH_CPU)) {
    p.backend = LSEG_BACKEND_TCH_CPU;
    CHECK_ST(lseg_create(&p, &m), LSEG_ERR_BACKEND_UNAVAILABLE);
    CHECK_MSG("not compiled");
    CHECK(lseg_cuda_device_count() == 0);
  }
  if (lseg_cuda_device_count() == 0) {
    p.backend = LSEG_BACKEND_TCH_CUDA;
    CHECK_ST(lseg_create(&p, &m), LSEG_ERR_BACKEND_UNAVAILABLE);
  }
  /* ndarray holds f32 only. */
  if (lseg_backend_is_compiled(LSEG_BACKEND_NDARRAY)) {
    p.backend = LSEG_BACKEND_NDARRAY;
    p.dtype = LSEG_DTYPE_F16;
    CHECK_ST(lseg_create(&p, &m), LSEG_ERR_BACKEND_UNAVAILABLE);
    CHECK_MSG("f16");
  }
  CHECK(m == (lseg_model *)0x1); /* never written on failure */
}

static void test_create_from_path_buffer_and_config_json(void) {
  lseg_model_params p = lseg_model_params_default();
  lseg_model *m = NULL;
  size_t len, cfg_len;
  void *buf = t_read(t_fixtures, "tiny_vit16.safetensors", &len);
  char *cfg = (char *)t_read(t_fixtures, "tiny_vit16.config.json", &cfg_len);
  void *plain;

  /* Path, config from the metadata. */
  p.weights_path = t_path(t_fixtures, "tiny_vit16.safetensors");
  p.n_threads = 2;
  CHECK_OK(lseg_create(&p, &m));
  CHECK(m != NULL);
  CHECK(lseg_model_embed_dim(m) == 512);
  CHECK(strcmp(lseg_last_error(), "") == 0);
  lseg_free(m);

  /* Memory buffer (only read during the call). */
  p = lseg_model_params_default();
  p.weights_data = buf;
  p.weights_size = len;
  m = NULL;
  CHECK_OK(lseg_create(&p, &m));
  memset(buf, 0, len);
  CHECK(lseg_model_embed_dim(m) == 512);
  lseg_free(m);
  free(buf);

  /* The repository fixture has no metadata: it needs config_json. */
  plain = t_read(t_repo_fixtures, "tiny_vit16.safetensors", &len);
  p = lseg_model_params_default();
  p.weights_data = plain;
  p.weights_size = len;
  m = NULL;
  CHECK_ST(lseg_create(&p, &m), LSEG_ERR_CONFIG);
  CHECK_MSG("hook");
  CHECK(m == NULL);
  p.config_json = cfg;
  CHECK_OK(lseg_create(&p, &m));
  CHECK(lseg_model_embed_dim(m) == 512);
  lseg_free(m);
  /* A bad config is a config error. */
  p.config_json = "{\"vit\": 3}";
  m = NULL;
  CHECK_ST(lseg_create(&p, &m), LSEG_ERR_CONFIG);
  p.config_json = "\xff\xfe";
  CHECK_ST(lseg_create(&p, &m), LSEG_ERR_INVALID_ARGUMENT);
  CHECK_MSG("config_json");
  CHECK(m == NULL);
  free(plain);
  free(cfg);
}

static void test_create_invalid_arguments(void) {
  lseg_model_params p;
  lseg_model *m = (lseg_model *)0x1;
  size_t len;
  uint8_t *buf = (uint8_t *)t_read(t_fixtures, "tiny_vit16.safetensors", &len);
  const char *path = t_path(t_fixtures, "tiny_vit16.safetensors");

  CHECK_ST(lseg_create(NULL, &m), LSEG_ERR_INVALID_ARGUMENT);
  CHECK_MSG("params");
  p = lseg_model_params_default();
  p.weights_path = path;
  CHECK_ST(lseg_create(&p, NULL), LSEG_ERR_INVALID_ARGUMENT);
  CHECK_MSG("out_model");
  p.struct_size = 4;
  CHECK_ST(lseg_create(&p, &m), LSEG_ERR_INVALID_ARGUMENT);
  CHECK_MSG("struct_size");
  p.struct_size = sizeof p + 8;
  CHECK_ST(lseg_create(&p, &m), LSEG_ERR_INVALID_ARGUMENT);
  p = lseg_model_params_default();
  p.weights_path = path;
  p.backend = 5;
  CHECK_ST(lseg_create(&p, &m), LSEG_ERR_INVALID_ARGUMENT);
  CHECK_MSG("backend");
  p.backend = 0xffffffffu;
  CHECK_ST(lseg_create(&p, &m), LSEG_ERR_INVALID_ARGUMENT);
  p.backend = LSEG_BACKEND_DEFAULT;
  p.device_index = 3;
  CHECK_ST(lseg_create(&p, &m), LSEG_ERR_INVALID_ARGUMENT);
  CHECK_MSG("device_index");
  p.device_index = 0;
  p.dtype = 3;
  CHECK_ST(lseg_create(&p, &m), LSEG_ERR_INVALID_ARGUMENT);
  CHECK_MSG("dtype");
  p.dtype = LSEG_DTYPE_F32;
  p.n_threads = 100000;
  CHECK_ST(lseg_create(&p, &m), LSEG_ERR_INVALID_ARGUMENT);
  CHECK_MSG("n_threads");
  p.n_threads = 0;
  /* Weights source: none, both, size without buffer, buffer without size. */
  p.weights_path = NULL;
  CHECK_ST(lseg_create(&p, &m), LSEG_ERR_INVALID_ARGUMENT);
  CHECK_MSG("no weights");
  p.weights_path = path;
  p.weights_data = buf;
  p.weights_size = len;
  CHECK_ST(lseg_create(&p, &m), LSEG_ERR_INVALID_ARGUMENT);
  CHECK_MSG("both");
  p.weights_data = NULL;
  CHECK_ST(lseg_create(&p, &m), LSEG_ERR_INVALID_ARGUMENT);
  CHECK_MSG("weights_size");
  p.weights_path = NULL;
  p.weights_data = buf;
  p.weights_size = 0;
  CHECK_ST(lseg_create(&p, &m), LSEG_ERR_INVALID_ARGUMENT);
  CHECK_MSG("weights_size");
  /* Missing, unreadable or broken files. */
  p = lseg_model_params_default();
  p.weights_path = "/nonexistent/dir/w.safetensors";
  CHECK_ST(lseg_create(&p, &m), LSEG_ERR_IO);
  CHECK_MSG("/nonexistent/dir/w.safetensors");
  p.weights_path = "bad\xff.safetensors";
  CHECK_ST(lseg_create(&p, &m), LSEG_ERR_INVALID_ARGUMENT);
  CHECK_MSG("UTF-8");
  p = lseg_model_params_default();
  p.weights_data = buf;
  p.weights_size = len / 2; /* truncated */
  CHECK_ST(lseg_create(&p, &m), LSEG_ERR_INVALID_WEIGHTS);
  p.weights_size = 5; /* no header */
  CHECK_ST(lseg_create(&p, &m), LSEG_ERR_INVALID_WEIGHTS);
  memset(buf + 8, '#', 32); /* corrupt header */
  p.weights_size = len;
  CHECK_ST(lseg_create(&p, &m), LSEG_ERR_INVALID_WEIGHTS);
  CHECK(m == (lseg_model *)0x1);
  free(buf);
}

static void test_encode_labels_parity(void) {
  lseg_model *m = t_model(LSEG_BACKEND_DEFAULT);
  lseg_labels *l = NULL;
  size_t len;
  float *want = (float *)t_read(t_fixtures, "ref_text.f32", &len);
  float *got = (float *)malloc(len);
  CHECK_OK(lseg_encode_labels(m, t_labels, T_N, &l));
  CHECK(lseg_labels_count(l) == T_N);
  CHECK(lseg_labels_dim(l) == 512);
  CHECK(len == T_N * 512 * sizeof(float));
  CHECK_OK(lseg_labels_embeddings(l, got, T_N * 512));
  CHECK(same_f32(got, want, T_N * 512));
  /* The same labels again give the same embeddings: encoding is deterministic. */
  {
    lseg_labels *l2 = NULL;
    CHECK_OK(lseg_encode_labels_ex(m, t_labels, T_N, 0, &l2));
    memset(got, 0, len);
    CHECK_OK(lseg_labels_embeddings(l2, got, T_N * 512));
    CHECK(same_f32(got, want, T_N * 512));
    lseg_labels_free(l2);
  }
  free(got);
  free(want);
  lseg_labels_free(l);
  lseg_free(m);
}

static void test_encode_labels_invalid(void) {
  lseg_model *m = t_model(LSEG_BACKEND_DEFAULT);
  lseg_labels *l = (lseg_labels *)0x1;
  const char *with_null[2] = {"dog", NULL};
  const char *empty[2] = {"dog", ""};
  const char *blank[2] = {"dog", "  \t "};
  const char *bad_utf8[2] = {"dog", "gr\xc3\x28ss"};
  char long_label[1024];
  const char *too_long[1];
  int i;
  for (i = 0; i < 200; i++) memcpy(long_label + 4 * i, "cat ", 4);
  long_label[800] = 0;
  too_long[0] = long_label;

  CHECK_ST(lseg_encode_labels(NULL, t_labels, T_N, &l), LSEG_ERR_INVALID_ARGUMENT);
  CHECK_MSG("model");
  CHECK_ST(lseg_encode_labels(m, t_labels, T_N, NULL), LSEG_ERR_INVALID_ARGUMENT);
  CHECK_MSG("out_labels");
  CHECK_ST(lseg_encode_labels(m, NULL, 3, &l), LSEG_ERR_INVALID_ARGUMENT);
  CHECK_MSG("labels");
  CHECK_ST(lseg_encode_labels(m, t_labels, 0, &l), LSEG_ERR_LABEL);
  CHECK_MSG("empty");
  CHECK_ST(lseg_encode_labels(m, NULL, 0, &l), LSEG_ERR_LABEL);
  CHECK_ST(lseg_encode_labels(m, t_labels, 70000, &l), LSEG_ERR_LABEL);
  CHECK_MSG("65535");
  CHECK_ST(lseg_encode_labels(m, t_labels, (size_t)-1, &l), LSEG_ERR_LABEL);
  CHECK_ST(lseg_encode_labels(m, with_null, 2, &l), LSEG_ERR_INVALID_ARGUMENT);
  CHECK_MSG("labels[1]");
  CHECK_ST(lseg_encode_labels(m, empty, 2, &l), LSEG_ERR_LABEL);
  CHECK_MSG("label 1");
  CHECK_ST(lseg_encode_labels(m, blank, 2, &l), LSEG_ERR_LABEL);
  CHECK_ST(lseg_encode_labels(m, bad_utf8, 2, &l), LSEG_ERR_LABEL);
  CHECK_MSG("UTF-8");
  CHECK_ST(lseg_encode_labels(m, too_long, 1, &l), LSEG_ERR_LABEL);
  CHECK_MSG("77");
  CHECK_ST(lseg_encode_labels_ex(m, too_long, 1, 0x4, &l), LSEG_ERR_INVALID_ARGUMENT);
  CHECK_MSG("flags");
  CHECK(l == (lseg_labels *)0x1);
  /* Truncation makes the over-long label usable. */
  CHECK_OK(lseg_encode_labels_ex(m, too_long, 1, LSEG_LABELS_TRUNCATE, &l));
  CHECK(lseg_labels_count(l) == 1);
  lseg_labels_free(l);
  lseg_free(m);
}

static void test_labels_accessors_invalid(void) {
  lseg_model *m = t_model(LSEG_BACKEND_DEFAULT);
  lseg_labels *l = t_encode(m);
  float small[10];
  int i;
  for (i = 0; i < 10; i++) small[i] = -7.0f;
  CHECK(lseg_labels_count(NULL) == 0);
  CHECK_MSG("labels");
  CHECK(lseg_labels_dim(NULL) == 0);
  CHECK(lseg_model_embed_dim(NULL) == 0);
  CHECK_ST(lseg_labels_embeddings(NULL, small, 10), LSEG_ERR_INVALID_ARGUMENT);
  CHECK_ST(lseg_labels_embeddings(l, NULL, 10), LSEG_ERR_INVALID_ARGUMENT);
  CHECK_ST(lseg_labels_embeddings(l, small, 10), LSEG_ERR_BUFFER_TOO_SMALL);
  CHECK_MSG("2560");
  CHECK_ST(lseg_labels_embeddings(l, small, T_N * 512 - 1), LSEG_ERR_BUFFER_TOO_SMALL);
  for (i = 0; i < 10; i++) CHECK(small[i] == -7.0f);
  lseg_labels_free(l);
  lseg_free(m);
}

typedef struct {
  uint16_t *labels;
  float *scores;
  float *conf;
} outs;

static outs outs_new(void) {
  outs o;
  o.labels = (uint16_t *)malloc(T_W * T_H * sizeof(uint16_t));
  o.scores = (float *)malloc(T_N * T_W * T_H * sizeof(float));
  o.conf = (float *)malloc(T_W * T_H * sizeof(float));
  memset(o.labels, 0xff, T_W * T_H * sizeof(uint16_t));
  memset(o.scores, 0xff, T_N * T_W * T_H * sizeof(float));
  memset(o.conf, 0xff, T_W * T_H * sizeof(float));
  return o;
}

static void outs_free(outs *o) {
  free(o->labels);
  free(o->scores);
  free(o->conf);
}

static lseg_segment_outputs outs_desc(outs *o) {
  lseg_segment_outputs d = lseg_segment_outputs_default();
  d.label_map = o->labels;
  d.label_map_len = T_W * T_H;
  d.scores = o->scores;
  d.scores_len = T_N * T_W * T_H;
  d.confidence = o->conf;
  d.confidence_len = T_W * T_H;
  return d;
}

/* Every output byte still 0xff: nothing was written. */
static int outs_untouched(const outs *o) {
  size_t i;
  const uint8_t *a = (const uint8_t *)o->labels, *b = (const uint8_t *)o->scores,
                *c = (const uint8_t *)o->conf;
  for (i = 0; i < T_W * T_H * sizeof(uint16_t); i++)
    if (a[i] != 0xff) return 0;
  for (i = 0; i < T_N * T_W * T_H * sizeof(float); i++)
    if (b[i] != 0xff) return 0;
  for (i = 0; i < T_W * T_H * sizeof(float); i++)
    if (c[i] != 0xff) return 0;
  return 1;
}

static void check_against_refs(const outs *o, const char *name) {
  char file[64];
  size_t len;
  void *ref;
  snprintf(file, sizeof file, "ref_%s_labels.u16", name);
  ref = t_read(t_fixtures, file, &len);
  CHECK(len == T_W * T_H * sizeof(uint16_t));
  CHECK(memcmp(o->labels, ref, len) == 0);
  free(ref);
  snprintf(file, sizeof file, "ref_%s_scores.f32", name);
  ref = t_read(t_fixtures, file, &len);
  CHECK(len == T_N * T_W * T_H * sizeof(float));
  CHECK(same_f32(o->scores, (const float *)ref, T_N * T_W * T_H));
  free(ref);
  snprintf(file, sizeof file, "ref_%s_conf.f32", name);
  ref = t_read(t_fixtures, file, &len);
  CHECK(same_f32(o->conf, (const float *)ref, T_W * T_H));
  free(ref);
}

static void test_segment_single_scale_parity(void) {
  lseg_model *m = t_model(LSEG_BACKEND_DEFAULT);
  lseg_labels *l = t_encode(m);
  lseg_image img = t_rgb(g_rgb);
  lseg_segment_params p = lseg_segment_params_default();
  outs o = outs_new();
  lseg_segment_outputs d = outs_desc(&o);
  size_t i;
  int in_range = 1, probs = 1;
  CHECK(p.mode == LSEG_MODE_SINGLE && p.size == 480);
  p.size = 96;
  CHECK_OK(lseg_segment(m, l, &img, &p, &d));
  check_against_refs(&o, "single");
  for (i = 0; i < T_W * T_H; i++) {
    if (o.labels[i] >= T_N) in_range = 0;
    if (!(o.conf[i] >= 1.0f / T_N - 1e-6f && o.conf[i] <= 1.0f)) probs = 0;
  }
  CHECK(in_range);
  CHECK(probs);
  /* Each output alone gives the same values. */
  {
    outs o2 = outs_new();
    lseg_segment_outputs d2 = lseg_segment_outputs_default();
    d2.confidence = o2.conf;
    d2.confidence_len = T_W * T_H;
    CHECK_OK(lseg_segment(m, l, &img, &p, &d2));
    CHECK(same_f32(o2.conf, o.conf, T_W * T_H));
    d2 = lseg_segment_outputs_default();
    d2.label_map = o2.labels;
    d2.label_map_len = T_W * T_H + 100; /* larger is fine */
    CHECK_OK(lseg_segment(m, l, &img, &p, &d2));
    CHECK(memcmp(o2.labels, o.labels, T_W * T_H * 2) == 0);
    outs_free(&o2);
  }
  outs_free(&o);
  lseg_labels_free(l);
  lseg_free(m);
}

static void test_segment_multi_scale_parity(void) {
  lseg_model *m = t_model(LSEG_BACKEND_DEFAULT);
  lseg_labels *l = t_encode(m);
  lseg_image img = t_rgb(g_rgb);
  lseg_segment_params p = lseg_segment_params_default();
  double scales[2] = {0.75, 1.25};
  outs o = outs_new();
  lseg_segment_outputs d = outs_desc(&o);
  CHECK(p.base_size == 520 && p.crop_size == 480 && p.flip == 1 && p.scales == NULL);
  p.mode = LSEG_MODE_MULTI_SCALE;
  p.base_size = 80;
  p.crop_size = 64;
  p.scales = scales;
  p.n_scales = 2;
  CHECK_OK(lseg_segment(m, l, &img, &p, &d));
  check_against_refs(&o, "ms");
  outs_free(&o);
  lseg_labels_free(l);
  lseg_free(m);
}

/* The same pixels in every format and with padded rows give identical results. */
static void test_segment_pixel_formats_and_stride(void) {
  lseg_model *m = t_model(LSEG_BACKEND_DEFAULT);
  lseg_labels *l = t_encode(m);
  lseg_segment_params p = lseg_segment_params_default();
  outs ref = outs_new(), o = outs_new();
  lseg_segment_outputs dref = outs_desc(&ref), d = outs_desc(&o);
  lseg_image img = t_rgb(g_rgb);
  const size_t stride = T_W * 4 + 13;
  uint8_t *buf = (uint8_t *)malloc(stride * T_H);
  uint8_t *gray = (uint8_t *)malloc(T_W * T_H), *gray3 = (uint8_t *)malloc(T_W * T_H * 3);
  uint32_t fmt;
  int x, y;
  p.size = 64;
  CHECK_OK(lseg_segment(m, l, &img, &p, &dref));
  for (fmt = LSEG_PIXEL_FORMAT_RGB8; fmt <= LSEG_PIXEL_FORMAT_BGRA8; fmt++) {
    int ch = fmt <= LSEG_PIXEL_FORMAT_BGR8 ? 3 : 4;
    int bgr = fmt == LSEG_PIXEL_FORMAT_BGR8 || fmt == LSEG_PIXEL_FORMAT_BGRA8;
    memset(buf, 0x5a, stride * T_H);
    for (y = 0; y < T_H; y++)
      for (x = 0; x < T_W; x++) {
        const uint8_t *s = g_rgb + (y * T_W + x) * 3;
        uint8_t *t = buf + y * stride + x * ch;
        t[0] = s[bgr ? 2 : 0];
        t[1] = s[1];
        t[2] = s[bgr ? 0 : 2];
        if (ch == 4) t[3] = (uint8_t)(x * 7); /* alpha is ignored */
      }
    img.data = buf;
    img.stride = stride;
    img.format = fmt;
    CHECK_OK(lseg_segment(m, l, &img, &p, &d));
    CHECK(memcmp(o.labels, ref.labels, T_W * T_H * 2) == 0);
    CHECK(same_f32(o.scores, ref.scores, T_N * T_W * T_H));
  }
  /* GRAY8 equals RGB8 with r = g = b. */
  for (x = 0; x < T_W * T_H; x++) {
    gray[x] = g_rgb[3 * x + 1];
    gray3[3 * x] = gray3[3 * x + 1] = gray3[3 * x + 2] = gray[x];
  }
  img = t_rgb(gray3);
  CHECK_OK(lseg_segment(m, l, &img, &p, &dref));
  img.data = gray;
  img.format = LSEG_PIXEL_FORMAT_GRAY8;
  CHECK_OK(lseg_segment(m, l, &img, &p, &d));
  CHECK(same_f32(o.scores, ref.scores, T_N * T_W * T_H));
  /* Odd sizes, input-size mode (no resize): a 1x1 and a 33x7 image work. */
  {
    uint16_t lm[33 * 7];
    lseg_segment_outputs d2 = lseg_segment_outputs_default();
    d2.label_map = lm;
    d2.label_map_len = 33 * 7;
    img = t_rgb(g_rgb);
    img.width = 33;
    img.height = 7;
    img.stride = T_W * 3;
    p.size = 0;
    CHECK_OK(lseg_segment(m, l, &img, &p, &d2));
    img.width = img.height = 1;
    p.size = 32;
    CHECK_OK(lseg_segment(m, l, &img, &p, &d2));
    CHECK(lm[0] < T_N);
  }
  free(buf);
  free(gray);
  free(gray3);
  outs_free(&ref);
  outs_free(&o);
  lseg_labels_free(l);
  lseg_free(m);
}

static void test_segment_invalid_arguments(void) {
  lseg_model *m = t_model(LSEG_BACKEND_DEFAULT);
  lseg_labels *l = t_encode(m);
  lseg_segment_params p = lseg_segment_params_default(), q;
  lseg_image img = t_rgb(g_rgb), bad;
  outs o = outs_new();
  lseg_segment_outputs d = outs_desc(&o), e;
  double scales[2] = {1.0, 0.5};
  const lseg_status INV = LSEG_ERR_INVALID_ARGUMENT;
  p.size = 64;

  /* NULL handles, image and outputs. */
  CHECK_ST(lseg_segment(NULL, l, &img, &p, &d), INV);
  CHECK_MSG("model");
  CHECK_ST(lseg_segment(m, NULL, &img, &p, &d), INV);
  CHECK_MSG("labels");
  CHECK_ST(lseg_segment(m, l, NULL, &p, &d), INV);
  CHECK_MSG("image");
  CHECK_ST(lseg_segment(m, l, &img, &p, NULL), INV);
  CHECK_MSG("outputs");
  /* Handles of the wrong kind or garbage. */
  CHECK_ST(lseg_segment((const lseg_model *)l, l, &img, &p, &d), INV);
  CHECK_ST(lseg_segment(m, (const lseg_labels *)m, &img, &p, &d), INV);
  CHECK_ST(lseg_segment((const lseg_model *)&p, l, &img, &p, &d), INV);
  CHECK_MSG("not a live model handle");
  /* Image descriptor. */
  bad = img;
  bad.format = 5;
  CHECK_ST(lseg_segment(m, l, &bad, &p, &d), INV);
  CHECK_MSG("format");
  bad.format = 0xffffffffu;
  CHECK_ST(lseg_segment(m, l, &bad, &p, &d), INV);
  bad = img;
  bad.width = 0;
  CHECK_ST(lseg_segment(m, l, &bad, &p, &d), INV);
  CHECK_MSG("empty");
  bad = img;
  bad.height = 0;
  CHECK_ST(lseg_segment(m, l, &bad, &p, &d), INV);
  bad = img;
  bad.width = 16385;
  CHECK_ST(lseg_segment(m, l, &bad, &p, &d), INV);
  CHECK_MSG("16384");
  bad = img;
  bad.width = bad.height = 0xffffffffu;
  CHECK_ST(lseg_segment(m, l, &bad, &p, &d), INV);
  bad = img;
  bad.stride = T_W * 3 - 1;
  CHECK_ST(lseg_segment(m, l, &bad, &p, &d), INV);
  CHECK_MSG("stride");
  bad.stride = 1;
  CHECK_ST(lseg_segment(m, l, &bad, &p, &d), INV);
  bad.stride = (size_t)-1;
  CHECK_ST(lseg_segment(m, l, &bad, &p, &d), INV);
  CHECK_MSG("stride");
  bad = img;
  bad.data = NULL;
  CHECK_ST(lseg_segment(m, l, &bad, &p, &d), INV);
  CHECK_MSG("data");
  /* Params. */
  q = p;
  q.struct_size = 0;
  CHECK_ST(lseg_segment(m, l, &img, &q, &d), INV);
  CHECK_MSG("struct_size");
  q = p;
  q.mode = 2;
  CHECK_ST(lseg_segment(m, l, &img, &q, &d), INV);
  CHECK_MSG("mode");
  q = p;
  q.size = 100000;
  CHECK_ST(lseg_segment(m, l, &img, &q, &d), INV);
  CHECK_MSG("size");
  q = p;
  q.mode = LSEG_MODE_MULTI_SCALE;
  q.base_size = 80;
  q.crop_size = 64;
  q.flip = 2;
  CHECK_ST(lseg_segment(m, l, &img, &q, &d), INV);
  CHECK_MSG("flip");
  q.flip = 0;
  q.crop_size = 50;
  CHECK_ST(lseg_segment(m, l, &img, &q, &d), INV);
  CHECK_MSG("crop_size");
  q.crop_size = 0;
  CHECK_ST(lseg_segment(m, l, &img, &q, &d), INV);
  q.crop_size = 64;
  q.base_size = 0;
  CHECK_ST(lseg_segment(m, l, &img, &q, &d), INV);
  CHECK_MSG("base_size");
  q.base_size = 80;
  q.n_scales = 2; /* NULL scales with a count */
  CHECK_ST(lseg_segment(m, l, &img, &q, &d), INV);
  CHECK_MSG("scales");
  q.scales = scales;
  q.n_scales = 0;
  CHECK_ST(lseg_segment(m, l, &img, &q, &d), INV);
  q.n_scales = 1000;
  CHECK_ST(lseg_segment(m, l, &img, &q, &d), INV);
  q.n_scales = 2;
  scales[1] = -1.0;
  CHECK_ST(lseg_segment(m, l, &img, &q, &d), INV);
  CHECK_MSG("scales[1]");
  scales[1] = NAN;
  CHECK_ST(lseg_segment(m, l, &img, &q, &d), INV);
  scales[1] = INFINITY;
  CHECK_ST(lseg_segment(m, l, &img, &q, &d), INV);
  scales[1] = 1e6;
  CHECK_ST(lseg_segment(m, l, &img, &q, &d), INV);
  /* Outputs: struct_size, nothing requested, each buffer one element short. */
  e = d;
  e.struct_size = 3;
  CHECK_ST(lseg_segment(m, l, &img, &p, &e), INV);
  e = lseg_segment_outputs_default();
  CHECK_ST(lseg_segment(m, l, &img, &p, &e), INV);
  CHECK_MSG("nothing");
  e = d;
  e.label_map_len = T_W * T_H - 1;
  CHECK_ST(lseg_segment(m, l, &img, &p, &e), LSEG_ERR_BUFFER_TOO_SMALL);
  CHECK_MSG("label_map");
  e = d;
  e.scores_len = T_N * T_W * T_H - 1;
  CHECK_ST(lseg_segment(m, l, &img, &p, &e), LSEG_ERR_BUFFER_TOO_SMALL);
  CHECK_MSG("scores");
  e = d;
  e.confidence_len = 0;
  CHECK_ST(lseg_segment(m, l, &img, &p, &e), LSEG_ERR_BUFFER_TOO_SMALL);
  CHECK_MSG("confidence");
  /* A NULL buffer with a length is simply not requested. */
  e = d;
  e.scores = NULL;
  e.confidence = NULL;
  e.label_map_len = 1;
  CHECK_ST(lseg_segment(m, l, &img, &p, &e), LSEG_ERR_BUFFER_TOO_SMALL);
  CHECK(outs_untouched(&o));
  /* After all that, the model still works. */
  CHECK_OK(lseg_segment(m, l, &img, &p, &d));
  CHECK(!outs_untouched(&o));
  outs_free(&o);
  lseg_labels_free(l);
  lseg_free(m);
}

typedef struct {
  size_t calls, last_done, total, cancel_at;
  int monotonic;
} progress_state;

static bool on_progress(size_t done, size_t total, void *user_data) {
  progress_state *s = (progress_state *)user_data;
  if (done <= s->last_done || done > total) s->monotonic = 0;
  s->calls++;
  s->last_done = done;
  s->total = total;
  return s->cancel_at == 0 || done < s->cancel_at;
}

static void test_segment_progress_and_cancel(void) {
  lseg_model *m = t_model(LSEG_BACKEND_DEFAULT);
  lseg_labels *l = t_encode(m);
  lseg_segment_params p = lseg_segment_params_default();
  lseg_image img = t_rgb(g_rgb);
  double scales[2] = {0.75, 1.25};
  progress_state s;
  outs o = outs_new();
  lseg_segment_outputs d = outs_desc(&o);
  p.mode = LSEG_MODE_MULTI_SCALE;
  p.base_size = 80;
  p.crop_size = 64;
  p.scales = scales;
  p.n_scales = 2;
  p.progress = on_progress;
  p.user_data = &s;
  memset(&s, 0, sizeof s);
  s.monotonic = 1;
  s.cancel_at = 2;
  CHECK_ST(lseg_segment(m, l, &img, &p, &d), LSEG_ERR_CANCELLED);
  CHECK(s.calls == 1 && s.last_done == 2); /* flip pairs: 2 passes per window */
  CHECK(outs_untouched(&o));
  memset(&s, 0, sizeof s);
  s.monotonic = 1;
  CHECK_OK(lseg_segment(m, l, &img, &p, &d));
  CHECK(s.monotonic && s.calls >= 2 && s.last_done == s.total);
  check_against_refs(&o, "ms");
  outs_free(&o);
  lseg_labels_free(l);
  lseg_free(m);
}

static float *embed(lseg_model *m, const lseg_image *img, const lseg_embed_params *p,
                    size_t *bytes) {
  void *out;
  CHECK_OK(lseg_embed_shape(m, img->width, img->height, p, NULL, NULL, NULL, bytes));
  out = malloc(*bytes);
  CHECK_OK(lseg_embed(m, img, p, out, *bytes));
  return (float *)out;
}

static float half_to_float(uint16_t h) {
  int e = (h >> 10) & 0x1f, f = h & 0x3ff;
  float v = e == 0 ? ldexpf((float)f, -24) : ldexpf((float)(f | 0x400), e - 25);
  return (h & 0x8000) ? -v : v;
}

static void test_embed_parity_layouts_dtypes(void) {
  lseg_model *m = t_model(LSEG_BACKEND_DEFAULT);
  lseg_image img = t_rgb(g_rgb);
  lseg_embed_params p = lseg_embed_params_default();
  size_t dim, h, w, bytes, len, i, c, bad = 0;
  float *got, *ref, *hwc;
  uint16_t *f16;
  CHECK(p.size == 480 && p.norm == LSEG_EMBED_NORM_L2 && p.dtype == LSEG_DTYPE_F32);
  p.size = 64;
  /* Native grid: 64x45 after the resize, half of it rounded up. */
  CHECK_OK(lseg_embed_shape(m, T_W, T_H, &p, &dim, &h, &w, &bytes));
  CHECK(dim == 512 && w == 32 && h == 23 && bytes == dim * h * w * 4);
  got = embed(m, &img, &p, &bytes);
  ref = (float *)t_read(t_fixtures, "ref_embed_l2_native.f32", &len);
  CHECK(len == bytes && same_f32(got, ref, bytes / 4));
  /* HWC is the transpose. */
  p.layout = LSEG_LAYOUT_HWC;
  hwc = embed(m, &img, &p, &bytes);
  for (c = 0; c < dim; c++)
    for (i = 0; i < h * w; i++)
      if (hwc[i * dim + c] != got[c * h * w + i]) bad++;
  CHECK(bad == 0);
  free(hwc);
  /* f16 output: the f32 values rounded. */
  p.layout = LSEG_LAYOUT_CHW;
  p.dtype = LSEG_DTYPE_F16;
  f16 = (uint16_t *)embed(m, &img, &p, &bytes);
  CHECK(bytes == dim * h * w * 2);
  for (i = 0; i < dim * h * w; i++)
    if (fabsf(half_to_float(f16[i]) - got[i]) > 1e-3f * fabsf(got[i]) + 1e-7f) bad++;
  CHECK(bad == 0);
  free(f16);
  free(got);
  free(ref);
  /* Raw head output at the input resolution. */
  p = lseg_embed_params_default();
  p.size = 64;
  p.norm = LSEG_EMBED_NORM_RAW;
  p.resolution = LSEG_EMBED_RESOLUTION_INPUT;
  CHECK_OK(lseg_embed_shape(m, T_W, T_H, &p, &dim, &h, &w, NULL));
  CHECK(h == T_H && w == T_W);
  got = embed(m, &img, &p, &bytes);
  ref = (float *)t_read(t_fixtures, "ref_embed_raw_input.f32", &len);
  CHECK(len == bytes && same_f32(got, ref, bytes / 4));
  free(got);
  free(ref);
  lseg_free(m);
}

static void test_embed_invalid_arguments(void) {
  lseg_model *m = t_model(LSEG_BACKEND_DEFAULT);
  lseg_image img = t_rgb(g_rgb), bad = img;
  lseg_embed_params p = lseg_embed_params_default(), q;
  size_t bytes, i;
  uint8_t *out;
  const lseg_status INV = LSEG_ERR_INVALID_ARGUMENT;
  p.size = 64;
  CHECK_OK(lseg_embed_shape(m, T_W, T_H, &p, NULL, NULL, NULL, &bytes));
  out = (uint8_t *)malloc(bytes);
  memset(out, 0xee, bytes);
  CHECK_ST(lseg_embed(NULL, &img, &p, out, bytes), INV);
  CHECK_ST(lseg_embed(m, NULL, &p, out, bytes), INV);
  CHECK_MSG("image");
  CHECK_ST(lseg_embed(m, &img, &p, NULL, bytes), INV);
  CHECK_MSG("out");
  CHECK_ST(lseg_embed(m, &img, &p, out, bytes - 1), LSEG_ERR_BUFFER_TOO_SMALL);
  CHECK_ST(lseg_embed(m, &img, &p, out, 0), LSEG_ERR_BUFFER_TOO_SMALL);
  q = p;
  q.struct_size = sizeof q - 4;
  CHECK_ST(lseg_embed(m, &img, &q, out, bytes), INV);
  q = p;
  q.norm = 3;
  CHECK_ST(lseg_embed(m, &img, &q, out, bytes), INV);
  CHECK_MSG("norm");
  q = p;
  q.resolution = 2;
  CHECK_ST(lseg_embed(m, &img, &q, out, bytes), INV);
  CHECK_MSG("resolution");
  q = p;
  q.dtype = LSEG_DTYPE_BF16;
  CHECK_ST(lseg_embed(m, &img, &q, out, bytes), INV);
  CHECK_MSG("dtype");
  q = p;
  q.layout = 9;
  CHECK_ST(lseg_embed(m, &img, &q, out, bytes), INV);
  CHECK_MSG("layout");
  q = p;
  q.size = 16385;
  CHECK_ST(lseg_embed(m, &img, &q, out, bytes), INV);
  bad.stride = 2;
  CHECK_ST(lseg_embed(m, &bad, &p, out, bytes), INV);
  CHECK_MSG("stride");
  bad = img;
  bad.format = 77;
  CHECK_ST(lseg_embed(m, &bad, &p, out, bytes), INV);
  for (i = 0; i < bytes; i++)
    if (out[i] != 0xee) break;
  CHECK(i == bytes);
  /* Shape queries. */
  CHECK_ST(lseg_embed_shape(NULL, T_W, T_H, &p, NULL, NULL, NULL, NULL), INV);
  CHECK_ST(lseg_embed_shape(m, 0, T_H, &p, NULL, NULL, NULL, NULL), INV);
  CHECK_ST(lseg_embed_shape(m, T_W, 20000, &p, NULL, NULL, NULL, NULL), INV);
  /* NULL params: the defaults (long side 480). */
  {
    size_t h, w;
    CHECK_OK(lseg_embed_shape(m, T_W, T_H, NULL, NULL, &h, &w, NULL));
    CHECK(w == 240 && h == 168);
  }
  free(out);
  lseg_free(m);
}

static void test_image_load(void) {
  lseg_image img, copy;
  const char *png = t_path(t_fixtures, "image_100x70.png");
  int x, bad = 0;
  memset(&img, 0, sizeof img);
  CHECK_OK(lseg_image_load(png, LSEG_PIXEL_FORMAT_RGB8, &img));
  CHECK(img.width == T_W && img.height == T_H && img.stride == T_W * 3 &&
        img.format == LSEG_PIXEL_FORMAT_RGB8);
  CHECK(img.data && memcmp(img.data, g_rgb, T_W * T_H * 3) == 0);
  copy = img;
  lseg_image_free(&img);
  CHECK(img.data == NULL && img.width == 0);
  lseg_image_free(&img);  /* zeroed: no-op */
  lseg_image_free(&copy); /* second free of the same pixels: detected, ignored */
  CHECK_MSG("not allocated by lseg_image_load");
  lseg_image_free(NULL);
  CHECK_OK(lseg_image_load(png, LSEG_PIXEL_FORMAT_BGRA8, &img));
  CHECK(img.stride == T_W * 4);
  for (x = 0; x < T_W * T_H; x++)
    if (img.data[4 * x] != g_rgb[3 * x + 2] || img.data[4 * x + 2] != g_rgb[3 * x] ||
        img.data[4 * x + 3] != 255)
      bad++;
  CHECK(bad == 0);
  lseg_image_free(&img);
  CHECK_OK(lseg_image_load(png, LSEG_PIXEL_FORMAT_GRAY8, &img));
  CHECK(img.stride == T_W);
  lseg_image_free(&img);
  /* A descriptor lseg did not make is left alone. */
  copy = t_rgb(g_rgb);
  lseg_image_free(&copy);
  CHECK(copy.data == g_rgb);
  /* Errors. */
  memset(&img, 0x11, sizeof img);
  copy = img;
  CHECK_ST(lseg_image_load(NULL, LSEG_PIXEL_FORMAT_RGB8, &img), LSEG_ERR_INVALID_ARGUMENT);
  CHECK_ST(lseg_image_load(png, 5, &img), LSEG_ERR_INVALID_ARGUMENT);
  CHECK_MSG("format");
  CHECK_ST(lseg_image_load(png, LSEG_PIXEL_FORMAT_RGB8, NULL), LSEG_ERR_INVALID_ARGUMENT);
  CHECK_ST(lseg_image_load("/nonexistent/x.png", LSEG_PIXEL_FORMAT_RGB8, &img), LSEG_ERR_IO);
  CHECK_MSG("/nonexistent/x.png");
  CHECK_ST(lseg_image_load(t_path(t_fixtures, "tiny_vit16.config.json"), LSEG_PIXEL_FORMAT_RGB8,
                           &img),
           LSEG_ERR_IMAGE_DECODE);
  CHECK(memcmp(&img, &copy, sizeof img) == 0);
}

static void test_handles_double_free_and_use_after_free(void) {
  lseg_model *m = t_model(LSEG_BACKEND_DEFAULT), *m2 = t_model(LSEG_BACKEND_DEFAULT);
  lseg_labels *l = t_encode(m);
  lseg_image img = t_rgb(g_rgb);
  lseg_segment_params p = lseg_segment_params_default();
  uint16_t lm[T_W * T_H];
  lseg_segment_outputs d = lseg_segment_outputs_default();
  p.size = 64;
  d.label_map = lm;
  d.label_map_len = T_W * T_H;
  /* Labels belong to the model that encoded them. */
  CHECK_ST(lseg_segment(m2, l, &img, &p, &d), LSEG_ERR_INVALID_ARGUMENT);
  CHECK_MSG("another model");
  /* Labels outlive their model; the freed model is refused; a second free is ignored. */
  lseg_free(m);
  CHECK(lseg_labels_count(l) == T_N);
  CHECK_ST(lseg_segment(m, l, &img, &p, &d), LSEG_ERR_INVALID_ARGUMENT);
  CHECK_MSG("not a live model handle");
  CHECK(lseg_model_embed_dim(m) == 0);
  lseg_free(m);
  CHECK_MSG("freed twice");
  lseg_labels_free(l);
  CHECK(lseg_labels_count(l) == 0);
  lseg_labels_free(l);
  CHECK_MSG("freed twice");
  lseg_free((lseg_model *)l); /* a labels handle is not a model */
  lseg_labels_free((lseg_labels *)m2);
  CHECK(lseg_model_embed_dim(m2) == 512); /* m2 untouched by the wrong-kind free */
  lseg_free(NULL);
  lseg_labels_free(NULL);
  lseg_free(m2);
}

int main(int argc, char **argv) {
  size_t len;
  t_args(argc, argv);
  g_rgb = (uint8_t *)t_read(t_fixtures, "image_100x70.rgb", &len);
  if (len != T_W * T_H * 3) {
    fprintf(stderr, "bad test image\n");
    return 2;
  }
  RUN(test_version_and_status_names);
  RUN(test_backends);
  RUN(test_create_from_path_buffer_and_config_json);
  RUN(test_create_invalid_arguments);
  RUN(test_encode_labels_parity);
  RUN(test_encode_labels_invalid);
  RUN(test_labels_accessors_invalid);
  RUN(test_segment_single_scale_parity);
  RUN(test_segment_multi_scale_parity);
  RUN(test_segment_pixel_formats_and_stride);
  RUN(test_segment_invalid_arguments);
  RUN(test_segment_progress_and_cancel);
  RUN(test_embed_parity_layouts_dtypes);
  RUN(test_embed_invalid_arguments);
  RUN(test_image_load);
  RUN(test_handles_double_free_and_use_after_free);
  free(g_rgb);
  return t_finish();
}
