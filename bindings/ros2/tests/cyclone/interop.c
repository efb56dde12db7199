// Cyclone DDS peer of the lseg ROS 2 node (an independent DDS implementation, types from
// ros2_types.idl through idlc): reads the latched label metadata, publishes an rgb8 frame on
// /test/image until its mask comes back on /lseg/mask, and writes what it saw for the Rust
// test (tests/cyclone.rs) to compare with the library.
//
//   interop DOMAIN OUT_DIR   ->  OUT_DIR/{labels.txt, frame.rgb, mask.bin, meta.txt}
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dds/dds.h"
#include "ros2_types.h"

enum { W = 64, H = 48 };

static int fail(const char *what, dds_return_t rc) {
  fprintf(stderr, "interop: %s: %s\n", what, rc < 0 ? dds_strretcode(rc) : "failed");
  return 1;
}

static int write_file(const char *dir, const char *name, const void *data, size_t n) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(data, 1, n, f) != n) return 1;
  return fclose(f) != 0;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: interop DOMAIN OUT_DIR\n");
    return 2;
  }
  const dds_domainid_t domain = (dds_domainid_t)atoi(argv[1]);
  const char *out = argv[2];
  dds_entity_t pp = dds_create_participant(domain, NULL, NULL);
  if (pp < 0) return fail("participant", pp);

  // The label metadata: reliable, transient local (a late joiner gets it).
  dds_qos_t *latched = dds_create_qos();
  dds_qset_reliability(latched, DDS_RELIABILITY_RELIABLE, DDS_SECS(1));
  dds_qset_durability(latched, DDS_DURABILITY_TRANSIENT_LOCAL);
  dds_qset_history(latched, DDS_HISTORY_KEEP_LAST, 1);
  dds_entity_t t_info = dds_create_topic(pp, &vision_msgs_msg_dds__LabelInfo__desc, "rt/lseg/label_info", NULL, NULL);
  dds_entity_t r_info = dds_create_reader(pp, t_info, latched, NULL);
  if (r_info < 0) return fail("label_info reader", r_info);

  dds_qos_t *reliable = dds_create_qos();
  dds_qset_reliability(reliable, DDS_RELIABILITY_RELIABLE, DDS_SECS(1));
  dds_qset_history(reliable, DDS_HISTORY_KEEP_LAST, 10);
  dds_entity_t t_mask = dds_create_topic(pp, &sensor_msgs_msg_dds__Image__desc, "rt/lseg/mask", NULL, NULL);
  dds_entity_t r_mask = dds_create_reader(pp, t_mask, reliable, NULL);
  if (r_mask < 0) return fail("mask reader", r_mask);

  dds_qos_t *sensor = dds_create_qos();  // the node's input QoS: best effort, depth 1
  dds_qset_reliability(sensor, DDS_RELIABILITY_BEST_EFFORT, 0);
  dds_qset_history(sensor, DDS_HISTORY_KEEP_LAST, 1);
  dds_entity_t t_img = dds_create_topic(pp, &sensor_msgs_msg_dds__Image__desc, "rt/test/image", NULL, NULL);
  dds_entity_t w_img = dds_create_writer(pp, t_img, sensor, NULL);
  if (w_img < 0) return fail("image writer", w_img);

  // 1. label_info, within 30 s: the latest one the writer holds.
  char labels[4096] = "";
  int have_info = 0;
  for (int i = 0; i < 300; ++i) {
    void *s[1] = {NULL};
    dds_sample_info_t si[1];
    dds_return_t n;
    while ((n = dds_take(r_info, s, si, 1, 1)) > 0) {
      if (si[0].valid_data) {
        const vision_msgs_msg_dds__LabelInfo_ *li = s[0];
        labels[0] = 0;
        for (uint32_t k = 0; k < li->class_map._length; ++k) {
          char line[512];
          snprintf(line, sizeof line, "%u %s\n", (unsigned)li->class_map._buffer[k].class_id,
                   li->class_map._buffer[k].class_name);
          strncat(labels, line, sizeof labels - strlen(labels) - 1);
        }
        have_info = 1;
      }
      dds_return_loan(r_info, s, n);
    }
    if (have_info && i > 10) break;  // drained what the writer holds
    dds_sleepfor(DDS_MSECS(100));
  }
  if (!have_info) return fail("no label_info within 30 s", 0);
  if (write_file(out, "labels.txt", labels, strlen(labels))) return fail("labels.txt", 0);

  // 2. A frame, until its mask comes back.
  static uint8_t rgb[W * H * 3];
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x)
      for (int c = 0; c < 3; ++c) rgb[(y * W + x) * 3 + c] = (uint8_t)((x * 7 + y * 3 + c * 60 + x * y) % 256);
  sensor_msgs_msg_dds__Image_ img;
  memset(&img, 0, sizeof img);
  img.header.stamp.sec = 1234;
  img.header.frame_id = "cyclone_cam";
  img.height = H;
  img.width = W;
  img.encoding = "rgb8";
  img.step = W * 3;
  img.data._length = img.data._maximum = sizeof rgb;
  img.data._buffer = rgb;
  for (int attempt = 0; attempt < 20; ++attempt) {
    dds_publication_matched_status_t st;
    for (int i = 0; i < 300; ++i) {
      dds_get_publication_matched_status(w_img, &st);
      if (st.current_count > 0) break;
      dds_sleepfor(DDS_MSECS(100));
    }
    img.header.stamp.nanosec = 1000u + (uint32_t)attempt;
    dds_return_t rc = dds_write(w_img, &img);
    if (rc < 0) return fail("write", rc);
    for (int i = 0; i < 30; ++i) {
      void *s[1] = {NULL};
      dds_sample_info_t si[1];
      dds_return_t n = dds_take(r_mask, s, si, 1, 1);
      if (n > 0 && si[0].valid_data) {
        const sensor_msgs_msg_dds__Image_ *m = s[0];
        if (m->header.stamp.sec == 1234 && m->header.stamp.nanosec == img.header.stamp.nanosec) {
          char meta[512];
          snprintf(meta, sizeof meta, "%s %u %u %u %s %d %u\n", m->encoding, (unsigned)m->width,
                   (unsigned)m->height, (unsigned)m->step, m->header.frame_id, (int)m->header.stamp.sec,
                   (unsigned)m->header.stamp.nanosec);
          int bad = write_file(out, "meta.txt", meta, strlen(meta)) ||
                    write_file(out, "mask.bin", m->data._buffer, m->data._length) ||
                    write_file(out, "frame.rgb", rgb, sizeof rgb);
          dds_return_loan(r_mask, s, n);
          dds_delete(pp);
          dds_delete_qos(latched);
          dds_delete_qos(reliable);
          dds_delete_qos(sensor);
          if (bad) return fail("writing results", 0);
          printf("interop: mask received after %d frame(s)\n", attempt + 1);
          return 0;
        }
      }
      if (n > 0) dds_return_loan(r_mask, s, n);
      dds_sleepfor(DDS_MSECS(100));
    }
  }
  return fail("no mask for 20 frames", 0);
}
