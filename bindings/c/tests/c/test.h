/* Tiny test harness of the lseg C tests: CHECK macros, case runner, fixture readers. */
#ifndef LSEG_TEST_H
#define LSEG_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lseg.h"

static int t_passed, t_failed, t_case_failed;
static const char *t_fixtures = "target/c-fixtures"; /* written by tests/capi.rs */
static const char *t_repo_fixtures = "tests/fixtures";

#define CHECK(cond)                                                                          \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      fprintf(stderr, "  %s:%d: CHECK(%s) failed (last error: %s)\n", __FILE__, __LINE__,   \
              #cond, lseg_last_error());                                                     \
      t_case_failed = 1;                                                                     \
    }                                                                                        \
  } while (0)

/* Expect a status; print the names and the message when it differs. */
#define CHECK_ST(expr, want)                                                                 \
  do {                                                                                       \
    lseg_status t_s_ = (expr);                                                               \
    if (t_s_ != (want)) {                                                                    \
      fprintf(stderr, "  %s:%d: %s returned %s, expected %s (last error: %s)\n", __FILE__,  \
              __LINE__, #expr, lseg_status_name(t_s_), lseg_status_name(want),               \
              lseg_last_error());                                                            \
      t_case_failed = 1;                                                                     \
    }                                                                                        \
  } while (0)

#define CHECK_OK(expr) CHECK_ST(expr, LSEG_OK)

/* The last error mentions a substring. */
#define CHECK_MSG(sub)                                                                       \
  do {                                                                                       \
    if (!strstr(lseg_last_error(), (sub))) {                                                 \
      fprintf(stderr, "  %s:%d: last error \"%s\" does not mention \"%s\"\n", __FILE__,     \
              __LINE__, lseg_last_error(), (sub));                                           \
      t_case_failed = 1;                                                                     \
    }                                                                                        \
  } while (0)

#define RUN(fn)                                                                              \
  do {                                                                                       \
    t_case_failed = 0;                                                                       \
    fn();                                                                                    \
    if (t_case_failed) {                                                                     \
      t_failed++;                                                                            \
      printf("FAIL %s\n", #fn);                                                              \
    } else {                                                                                 \
      t_passed++;                                                                            \
      printf("ok   %s\n", #fn);                                                              \
    }                                                                                        \
    fflush(stdout);                                                                          \
  } while (0)

static int t_finish(void) {
  printf("%d passed, %d failed\n", t_passed, t_failed);
  return t_failed ? 1 : 0;
}

static void t_args(int argc, char **argv) {
  if (argc > 1) t_fixtures = argv[1];
  if (argc > 2) t_repo_fixtures = argv[2];
}

static char *t_path(const char *dir, const char *name) {
  static char buf[8][1024];
  static int i;
  char *p = buf[i++ % 8];
  snprintf(p, 1024, "%s/%s", dir, name);
  return p;
}

/* Whole file into a malloc'ed buffer (aborts the process on failure: a broken setup). */
static void *t_read(const char *dir, const char *name, size_t *len) {
  const char *path = t_path(dir, name);
  FILE *f = fopen(path, "rb");
  long n;
  void *buf;
  if (!f) {
    fprintf(stderr, "cannot open fixture %s (run tests/capi.rs first)\n", path);
    exit(2);
  }
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = malloc((size_t)n + 1);
  if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
    fprintf(stderr, "cannot read fixture %s\n", path);
    exit(2);
  }
  ((char *)buf)[n] = 0;
  fclose(f);
  if (len) *len = (size_t)n;
  return buf;
}

/* Load the fixture model (config in its metadata) from a path. */
static lseg_model *t_model(uint32_t backend) {
  lseg_model_params p = lseg_model_params_default();
  lseg_model *m = NULL;
  p.backend = backend;
  p.weights_path = t_path(t_fixtures, "tiny_vit16.safetensors");
  if (lseg_create(&p, &m) != LSEG_OK) {
    fprintf(stderr, "cannot load the fixture model: %s\n", lseg_last_error());
    exit(2);
  }
  return m;
}

static const char *t_labels[5] = {"dog", "grass", "other", "a red car", "sky"};
#define T_W 100
#define T_H 70
#define T_N 5

static lseg_labels *t_encode(lseg_model *m) {
  lseg_labels *l = NULL;
  if (lseg_encode_labels(m, t_labels, T_N, &l) != LSEG_OK) {
    fprintf(stderr, "cannot encode labels: %s\n", lseg_last_error());
    exit(2);
  }
  return l;
}

/* Packed RGB8 descriptor of a buffer. */
static lseg_image t_rgb(const uint8_t *data) {
  lseg_image img;
  img.data = data;
  img.width = T_W;
  img.height = T_H;
  img.stride = 0;
  img.format = LSEG_PIXEL_FORMAT_RGB8;
  return img;
}

#endif
