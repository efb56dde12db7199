/* Soak test of the C ABI: THREADS threads x ITERATIONS rounds on one model. Each round
 * segments one of a few images with a label set it encodes and frees itself (label sets are
 * created and freed concurrently), segments with a shared label set, embeds, and compares
 * every result with the sequential reference bit for bit. The resident set size is sampled
 * after warm-up and at the end; its growth must stay under MAX_GROWTH_MB.
 *   soak WEIGHTS THREADS ITERATIONS [MAX_GROWTH_MB]   (prints calls, seconds, RSS before/after) */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lseg.h>

enum { W = 48, H = 40, N_IMAGES = 4, N_SETS = 2, SIZE = 32 };
static const char *const SETS[N_SETS][3] = {{"grass", "sky", "a red car"}, {"dog", "road", "tree"}};
static const size_t SET_LEN[N_SETS] = {3, 3};

static lseg_model *g_model;
static lseg_labels *g_shared;
static uint8_t g_img[N_IMAGES][W * H * 3];
static uint16_t g_ref[N_SETS][N_IMAGES][W * H];
static float *g_ref_embed[N_IMAGES];
static size_t g_embed_bytes;
static int g_iterations;
static atomic_long g_calls, g_failures;
static atomic_int g_warm;  /* threads past warm-up */

static long rss_kb(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long pages = 0, resident = 0;
  if (f) {
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    fclose(f);
  }
  return resident * 4;
}

static lseg_image image(int i) {
  lseg_image im = {g_img[i], W, H, 0, LSEG_PIXEL_FORMAT_RGB8};
  return im;
}

static int segment(lseg_labels *l, int i, uint16_t *out) {
  lseg_image im = image(i);
  lseg_segment_params p = lseg_segment_params_default();
  p.size = SIZE;
  lseg_segment_outputs o = lseg_segment_outputs_default();
  o.label_map = out;
  o.label_map_len = W * H;
  return lseg_segment(g_model, l, &im, &p, &o);
}

static int embed(int i, float *out) {
  lseg_image im = image(i);
  lseg_embed_params p = lseg_embed_params_default();
  p.size = SIZE;
  return lseg_embed(g_model, &im, &p, out, g_embed_bytes);
}

static void fail(const char *what, int k) {
  atomic_fetch_add(&g_failures, 1);
  fprintf(stderr, "soak: %s (round %d): %s\n", what, k, lseg_last_error());
}

static void *work(void *arg) {
  const int t = (int)(size_t)arg;
  uint16_t map[W * H];
  float *emb = malloc(g_embed_bytes);
  for (int k = 0; k < g_iterations; k++) {
    const int i = (t + k) % N_IMAGES, s = (t * 7 + k) % N_SETS;
    lseg_labels *l = NULL;
    if (lseg_encode_labels(g_model, SETS[s], SET_LEN[s], &l) != LSEG_OK) fail("encode", k);
    else {
      if (segment(l, i, map) != LSEG_OK) fail("segment", k);
      else if (memcmp(map, g_ref[s][i], sizeof map) != 0) fail("label map differs from the sequential run", k);
      lseg_labels_free(l);
    }
    if (segment(g_shared, i, map) != LSEG_OK || memcmp(map, g_ref[0][i], sizeof map) != 0)
      fail("shared label set", k);
    if (k % 4 == 0) {
      if (embed(i, emb) != LSEG_OK || memcmp(emb, g_ref_embed[i], g_embed_bytes) != 0) fail("embed", k);
      atomic_fetch_add(&g_calls, 1);
    }
    if (lseg_encode_labels(g_model, (const char *const[]){""}, 1, &l) != LSEG_ERR_LABEL) fail("empty label accepted", k);
    atomic_fetch_add(&g_calls, 4);
    if (k == g_iterations / 10) atomic_fetch_add(&g_warm, 1);
  }
  free(emb);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: soak WEIGHTS THREADS ITERATIONS [MAX_GROWTH_MB]\n");
    return 2;
  }
  const int threads = atoi(argv[2]);
  g_iterations = atoi(argv[3]);
  const long max_growth_kb = (argc > 4 ? atol(argv[4]) : 64) * 1024;
  lseg_model_params mp = lseg_model_params_default();
  mp.weights_path = argv[1];
  if (lseg_create(&mp, &g_model) != LSEG_OK) {
    fprintf(stderr, "soak: %s\n", lseg_last_error());
    return 1;
  }
  for (int i = 0; i < N_IMAGES; i++)
    for (int p = 0; p < W * H * 3; p++) g_img[i][p] = (uint8_t)((p * (7 + i) + (p / (W * 3)) * 13 * i) % 251);
  lseg_embed_params ep = lseg_embed_params_default();
  ep.size = SIZE;
  if (lseg_embed_shape(g_model, W, H, &ep, NULL, NULL, NULL, &g_embed_bytes) != LSEG_OK) return 1;
  /* The sequential references. */
  for (int s = 0; s < N_SETS; s++) {
    lseg_labels *l = NULL;
    if (lseg_encode_labels(g_model, SETS[s], SET_LEN[s], &l) != LSEG_OK) return 1;
    for (int i = 0; i < N_IMAGES; i++)
      if (segment(l, i, g_ref[s][i]) != LSEG_OK) return 1;
    if (s == 0) g_shared = l;
    else lseg_labels_free(l);
  }
  for (int i = 0; i < N_IMAGES; i++) {
    g_ref_embed[i] = malloc(g_embed_bytes);
    if (embed(i, g_ref_embed[i]) != LSEG_OK) return 1;
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pthread_t *th = calloc((size_t)threads, sizeof *th);
  for (int t = 0; t < threads; t++) pthread_create(&th[t], NULL, work, (void *)(size_t)t);
  long rss_warm = 0;
  while (atomic_load(&g_warm) < threads) {
    struct timespec d = {0, 20 * 1000 * 1000};
    nanosleep(&d, NULL);
  }
  rss_warm = rss_kb();
  for (int t = 0; t < threads; t++) pthread_join(th[t], NULL);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  const long rss_end = rss_kb();
  const double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
  lseg_labels_free(g_shared);
  lseg_free(g_model);
  for (int i = 0; i < N_IMAGES; i++) free(g_ref_embed[i]);
  free(th);
  const long growth = rss_end - rss_warm;
  printf("soak: %d threads x %d rounds: %ld calls in %.1f s (%.0f calls/s), %ld failures; "
         "RSS after warm-up %ld KB, at the end %ld KB (growth %ld KB, limit %ld KB)\n",
         threads, g_iterations, atomic_load(&g_calls), secs, (double)atomic_load(&g_calls) / secs,
         atomic_load(&g_failures), rss_warm, rss_end, growth, max_growth_kb);
  return atomic_load(&g_failures) == 0 && growth <= max_growth_kb ? 0 : 1;
}
