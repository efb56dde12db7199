/* The C compiler's view of lseg.h for the C# layout test: per struct its size and field
 * offsets:sizes in declaration order, per enum its values in order (tests/LsegTests.cs compares). */
#include <stddef.h>
#include <stdio.h>

#include <lseg.h>

#define S(T) printf("struct %s %zu", #T, sizeof(struct T))
#define F(T, f) printf(" %zu:%zu", offsetof(struct T, f), sizeof(((struct T *)0)->f))
#define END() printf("\n")

int main(void) {
  S(lseg_model_params); F(lseg_model_params, struct_size); F(lseg_model_params, backend);
  F(lseg_model_params, device_index); F(lseg_model_params, dtype); F(lseg_model_params, n_threads);
  F(lseg_model_params, weights_path); F(lseg_model_params, weights_data);
  F(lseg_model_params, weights_size); F(lseg_model_params, config_json); END();
  S(lseg_segment_params); F(lseg_segment_params, struct_size); F(lseg_segment_params, mode);
  F(lseg_segment_params, size); F(lseg_segment_params, base_size); F(lseg_segment_params, crop_size);
  F(lseg_segment_params, flip); F(lseg_segment_params, scales); F(lseg_segment_params, n_scales);
  F(lseg_segment_params, progress); F(lseg_segment_params, user_data); END();
  S(lseg_segment_outputs); F(lseg_segment_outputs, struct_size); F(lseg_segment_outputs, label_map);
  F(lseg_segment_outputs, label_map_len); F(lseg_segment_outputs, scores); F(lseg_segment_outputs, scores_len);
  F(lseg_segment_outputs, confidence); F(lseg_segment_outputs, confidence_len); END();
  S(lseg_image); F(lseg_image, data); F(lseg_image, width); F(lseg_image, height); F(lseg_image, stride);
  F(lseg_image, format); END();
  S(lseg_embed_params); F(lseg_embed_params, struct_size); F(lseg_embed_params, size);
  F(lseg_embed_params, norm); F(lseg_embed_params, resolution); F(lseg_embed_params, dtype);
  F(lseg_embed_params, layout); END();
  printf("enum lseg_status");
  for (int s = LSEG_OK; s <= LSEG_ERR_INTERNAL; s++) printf(" %d", s);
  END();
  printf("enum lseg_backend %d %d %d %d %d\n", LSEG_BACKEND_DEFAULT, LSEG_BACKEND_FLEX, LSEG_BACKEND_NDARRAY,
         LSEG_BACKEND_TCH_CPU, LSEG_BACKEND_TCH_CUDA);
  printf("enum lseg_dtype %d %d %d\n", LSEG_DTYPE_F32, LSEG_DTYPE_F16, LSEG_DTYPE_BF16);
  printf("enum lseg_pixel_format %d %d %d %d %d\n", LSEG_PIXEL_FORMAT_RGB8, LSEG_PIXEL_FORMAT_BGR8,
         LSEG_PIXEL_FORMAT_RGBA8, LSEG_PIXEL_FORMAT_BGRA8, LSEG_PIXEL_FORMAT_GRAY8);
  printf("enum lseg_mode %d %d\n", LSEG_MODE_SINGLE, LSEG_MODE_MULTI_SCALE);
  printf("enum lseg_embed_norm %d %d %d\n", LSEG_EMBED_NORM_RAW, LSEG_EMBED_NORM_L2, LSEG_EMBED_NORM_L2_SCALED);
  printf("enum lseg_embed_resolution %d %d\n", LSEG_EMBED_RESOLUTION_NATIVE, LSEG_EMBED_RESOLUTION_INPUT);
  printf("enum lseg_layout %d %d\n", LSEG_LAYOUT_CHW, LSEG_LAYOUT_HWC);
  printf("const %d %d %d %d %d %d %llu\n", LSEG_ABI_VERSION, LSEG_LABELS_TRUNCATE, LSEG_MAX_IMAGE_SIDE,
         LSEG_MAX_LABELS, LSEG_MAX_LABEL_BYTES, LSEG_MAX_SCALES, (unsigned long long)LSEG_MAX_WEIGHTS_BYTES);
  return 0;
}
