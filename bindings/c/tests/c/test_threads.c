/* Thread safety: one model and one label set shared by several pthreads give results
 * identical to sequential use; the last error is per thread; a model freed while other
 * threads use it stays alive until they return.
 * Usage: test_threads [C-FIXTURES-DIR] */
#include <pthread.h>

#include "test.h"

#define N_THREADS 4
#define N_IMAGES 3
#define ROUNDS 2

static uint8_t *g_rgb;
static lseg_model *g_model;
static lseg_labels *g_labels;
static uint8_t g_images[N_IMAGES][T_W * T_H * 3];
static uint16_t g_ref_labels[N_IMAGES][T_W * T_H];
static float g_ref_scores[N_IMAGES][T_N * T_W * T_H];
static float g_ref_text[T_N * 512];
static float *g_ref_embed;
static size_t g_embed_bytes;

static lseg_segment_params seg_params(void) {
  lseg_segment_params p = lseg_segment_params_default();
  p.size = 64;
  return p;
}

static lseg_embed_params emb_params(void) {
  lseg_embed_params p = lseg_embed_params_default();
  p.size = 64;
  return p;
}

static int segment(int i, uint16_t *labels, float *scores) {
  lseg_image img = t_rgb(g_images[i]);
  lseg_segment_params p = seg_params();
  lseg_segment_outputs o = lseg_segment_outputs_default();
  o.label_map = labels;
  o.label_map_len = T_W * T_H;
  o.scores = scores;
  o.scores_len = T_N * T_W * T_H;
  return lseg_segment(g_model, g_labels, &img, &p, &o);
}

typedef struct {
  int id;
  int failures;
  char error[256];
} worker;

static void *work(void *arg) {
  worker *w = (worker *)arg;
  uint16_t *labels = (uint16_t *)malloc(T_W * T_H * sizeof(uint16_t));
  float *scores = (float *)malloc(T_N * T_W * T_H * sizeof(float));
  float text[T_N * 512];
  lseg_labels *l = NULL;
  lseg_image img = t_rgb(g_images[0]);
  lseg_embed_params ep = emb_params();
  float *emb = (float *)malloc(g_embed_bytes);
  int r, k;
  for (r = 0; r < ROUNDS; r++) {
    for (k = 0; k < N_IMAGES; k++) {
      int i = (k + w->id) % N_IMAGES; /* each thread in another order */
      if (segment(i, labels, scores) != LSEG_OK ||
          memcmp(labels, g_ref_labels[i], sizeof g_ref_labels[i]) != 0 ||
          memcmp(scores, g_ref_scores[i], sizeof g_ref_scores[i]) != 0)
        w->failures++;
    }
    /* Encoding labels concurrently with segmentation. */
    if (lseg_encode_labels(g_model, t_labels, T_N, &l) != LSEG_OK ||
        lseg_labels_embeddings(l, text, T_N * 512) != LSEG_OK ||
        memcmp(text, g_ref_text, sizeof text) != 0)
      w->failures++;
    lseg_labels_free(l);
    if (lseg_embed(g_model, &img, &ep, emb, g_embed_bytes) != LSEG_OK ||
        memcmp(emb, g_ref_embed, g_embed_bytes) != 0)
      w->failures++;
  }
  free(emb);
  free(labels);
  free(scores);
  /* A failure on this thread sets this thread's last error only. */
  if (lseg_encode_labels(g_model, t_labels, 0, &l) != LSEG_ERR_LABEL) w->failures++;
  snprintf(w->error, sizeof w->error, "%s", lseg_last_error());
  return NULL;
}

static void test_threads_share_one_model(void) {
  pthread_t th[N_THREADS];
  worker w[N_THREADS];
  int i, total = 0;
  for (i = 0; i < N_THREADS; i++) {
    memset(&w[i], 0, sizeof w[i]);
    w[i].id = i;
    CHECK(pthread_create(&th[i], NULL, work, &w[i]) == 0);
  }
  for (i = 0; i < N_THREADS; i++) {
    CHECK(pthread_join(th[i], NULL) == 0);
    total += w[i].failures;
    CHECK(strstr(w[i].error, "empty") != NULL);
  }
  CHECK(total == 0);
  /* The workers' errors did not touch this thread's last error. */
  CHECK(strcmp(lseg_last_error(), "") == 0);
}

typedef struct {
  lseg_model *model;
  lseg_labels *labels;
  int status;
} freer_arg;

static void *segment_on(void *arg) {
  freer_arg *a = (freer_arg *)arg;
  static uint16_t labels[T_W * T_H];
  lseg_image img = t_rgb(g_images[1]);
  lseg_segment_params p = seg_params();
  lseg_segment_outputs o = lseg_segment_outputs_default();
  o.label_map = labels;
  o.label_map_len = T_W * T_H;
  a->status = lseg_segment(a->model, a->labels, &img, &p, &o);
  return NULL;
}

/* Freeing a model while another thread segments with it: that call either completes or
 * reports a stale handle; it never crashes. */
static void test_free_while_in_use(void) {
  pthread_t th;
  freer_arg a;
  lseg_model_params mp = lseg_model_params_default();
  mp.weights_path = t_path(t_fixtures, "tiny_vit16.safetensors");
  a.model = NULL;
  CHECK_OK(lseg_create(&mp, &a.model));
  CHECK_OK(lseg_encode_labels(a.model, t_labels, T_N, &a.labels));
  a.status = -1;
  CHECK(pthread_create(&th, NULL, segment_on, &a) == 0);
  lseg_free(a.model);
  CHECK(pthread_join(th, NULL) == 0);
  CHECK(a.status == LSEG_OK || a.status == LSEG_ERR_INVALID_ARGUMENT);
  lseg_labels_free(a.labels);
}

int main(int argc, char **argv) {
  size_t len;
  int i, j;
  t_args(argc, argv);
  g_rgb = (uint8_t *)t_read(t_fixtures, "image_100x70.rgb", &len);
  for (i = 0; i < N_IMAGES; i++)
    for (j = 0; j < T_W * T_H * 3; j++)
      g_images[i][j] = (uint8_t)(i == 0 ? g_rgb[j] : i == 1 ? 255 - g_rgb[j] : g_rgb[j] ^ 0x3c);
  free(g_rgb);
  g_model = t_model(LSEG_BACKEND_DEFAULT);
  g_labels = t_encode(g_model);
  /* Sequential references. */
  for (i = 0; i < N_IMAGES; i++)
    if (segment(i, g_ref_labels[i], g_ref_scores[i]) != LSEG_OK) {
      fprintf(stderr, "reference segment failed: %s\n", lseg_last_error());
      return 2;
    }
  lseg_labels_embeddings(g_labels, g_ref_text, T_N * 512);
  {
    lseg_image img = t_rgb(g_images[0]);
    lseg_embed_params ep = emb_params();
    lseg_embed_shape(g_model, T_W, T_H, &ep, NULL, NULL, NULL, &g_embed_bytes);
    g_ref_embed = (float *)malloc(g_embed_bytes);
    if (lseg_embed(g_model, &img, &ep, g_ref_embed, g_embed_bytes) != LSEG_OK) return 2;
  }
  RUN(test_threads_share_one_model);
  RUN(test_free_while_in_use);
  free(g_ref_embed);
  lseg_labels_free(g_labels);
  lseg_free(g_model);
  return t_finish();
}
