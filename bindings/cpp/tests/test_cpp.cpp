// Tests of the C++ interface (bindings/cpp/lseg.hpp): its outputs equal the C API's bit for
// bit (and the Rust references the C tests use), errors carry the C status and message,
// moved-from objects are safe, a Model is shared by threads. Built with and without
// exceptions (the throwing layer's cases run only with them; the Result layer's always).
// Usage: test_cpp C-FIXTURES-DIR REPO-FIXTURES-DIR
#include <lseg.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#if LSEG_CPP_EXCEPTIONS
#include <stdexcept>
#endif

namespace {

int t_passed, t_failed;
bool t_case_failed;
std::string t_fixtures = "target/c-tests/fixtures";
std::string t_repo_fixtures = "tests/fixtures";

#define CHECK(cond)                                                                   \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      std::fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
      t_case_failed = true;                                                           \
    }                                                                                 \
  } while (0)

// A failed Result (or Error) with status `st` whose message mentions `sub`.
#define CHECK_ERR(expr, st, sub)                                          \
  do {                                                                    \
    const auto &r_ = (expr);                                              \
    check_err(r_.ok(), r_.error(), st, sub, __FILE__, __LINE__, #expr);   \
  } while (0)

void check_err(bool ok, const lseg::Error &e, lseg::Status st, const char *sub, const char *file, int line,
               const char *what) {
  if (ok) {
    std::fprintf(stderr, "  %s:%d: %s succeeded, expected %s\n", file, line, what, lseg::status_name(st));
    t_case_failed = true;
  } else if (e.status() != st || !*e.what() || !std::strstr(e.what(), sub)) {
    std::fprintf(stderr, "  %s:%d: %s gave %s \"%s\", expected %s mentioning \"%s\"\n", file, line, what,
                 e.status_name(), e.what(), lseg::status_name(st), sub);
    t_case_failed = true;
  }
}

#define CHECK_OK(expr)                                                                          \
  do {                                                                                          \
    const auto &r_ = (expr);                                                                    \
    if (!r_.ok()) {                                                                             \
      std::fprintf(stderr, "  %s:%d: %s failed: %s: %s\n", __FILE__, __LINE__, #expr,           \
                   r_.error().status_name(), r_.error().what());                                \
      t_case_failed = true;                                                                     \
    }                                                                                           \
  } while (0)

#if LSEG_CPP_EXCEPTIONS
// `stmt` throws lseg::Error with status `st` and a message mentioning `sub`.
#define CHECK_THROWS(stmt, st, sub)                                                               \
  do {                                                                                            \
    bool thrown_ = false;                                                                         \
    try {                                                                                         \
      (void)(stmt);                                                                               \
    } catch (const lseg::Error &e_) {                                                             \
      thrown_ = true;                                                                             \
      check_err(false, e_, st, sub, __FILE__, __LINE__, #stmt);                                   \
    }                                                                                             \
    if (!thrown_) {                                                                               \
      std::fprintf(stderr, "  %s:%d: %s did not throw lseg::Error\n", __FILE__, __LINE__, #stmt); \
      t_case_failed = true;                                                                       \
    }                                                                                             \
  } while (0)
#endif

void run_case(const char *name, void (*fn)()) {
  t_case_failed = false;
#if LSEG_CPP_EXCEPTIONS
  try {
    fn();
  } catch (const std::exception &e) {
    std::fprintf(stderr, "  unexpected exception: %s\n", e.what());
    t_case_failed = true;
  }
#else
  fn();
#endif
  if (t_case_failed) t_failed++; else t_passed++;
  std::printf("%s %s\n", t_case_failed ? "FAIL" : "ok  ", name);
  std::fflush(stdout);
}
#define RUN(fn) run_case(#fn, fn)

std::string path(const std::string &dir, const char *name) { return dir + "/" + name; }

std::vector<uint8_t> read_file(const std::string &dir, const char *name) {
  std::string p = path(dir, name);
  FILE *f = std::fopen(p.c_str(), "rb");
  if (!f) {
    std::fprintf(stderr, "cannot open fixture %s (run bindings/c/tests/run.sh first)\n", p.c_str());
    std::exit(2);
  }
  std::vector<uint8_t> buf;
  uint8_t chunk[65536];
  size_t n;
  while ((n = std::fread(chunk, 1, sizeof chunk, f)) > 0) buf.insert(buf.end(), chunk, chunk + n);
  std::fclose(f);
  return buf;
}

template <class T>
std::vector<T> read_typed(const char *name) {
  std::vector<uint8_t> b = read_file(t_fixtures, name);
  std::vector<T> v(b.size() / sizeof(T));
  std::memcpy(v.data(), b.data(), v.size() * sizeof(T));
  return v;
}

template <class T>
bool same(const std::vector<T> &a, const std::vector<T> &b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

constexpr uint32_t W = 100, H = 70;
constexpr size_t N = 5;
const std::vector<std::string> kLabels = {"dog", "grass", "other", "a red car", "sky"};
const char *const kLabelsC[N] = {"dog", "grass", "other", "a red car", "sky"};
std::vector<uint8_t> g_rgb;  // W x H packed RGB

std::string model_path() { return path(t_fixtures, "tiny_vit16.safetensors"); }

lseg::Model load_model() {
  lseg::Result<lseg::Model> m = lseg::Model::try_load(model_path());
  if (!m) {
    std::fprintf(stderr, "cannot load the fixture model: %s\n", m.error().what());
    std::exit(2);
  }
  return std::move(m).value();
}

lseg::Labels encode(const lseg::Model &m) {
  lseg::Result<lseg::Labels> l = m.try_encode_labels(kLabels);
  if (!l) {
    std::fprintf(stderr, "cannot encode labels: %s\n", l.error().what());
    std::exit(2);
  }
  return std::move(l).value();
}

lseg::Image rgb_image() { return lseg::Image::rgb(g_rgb.data(), W, H); }

// Direct C API calls, for the parity checks.
struct COut {
  lseg_status status;
  std::vector<uint16_t> label_map;
  std::vector<float> scores, confidence;
};

COut c_segment(const lseg::Model &m, const lseg::Labels &l, const lseg_image &img, const lseg_segment_params &p) {
  COut o;
  size_t px = size_t{img.width} * img.height, n = lseg_labels_count(l.get());
  o.label_map.assign(px, 0xffff);
  o.scores.assign(px * n, -1.0f);
  o.confidence.assign(px, -1.0f);
  lseg_segment_outputs d = lseg_segment_outputs_default();
  d.label_map = o.label_map.data();
  d.label_map_len = px;
  d.scores = o.scores.data();
  d.scores_len = px * n;
  d.confidence = o.confidence.data();
  d.confidence_len = px;
  o.status = lseg_segment(m.get(), l.get(), &img, &p, &d);
  return o;
}

lseg_segment_params c_single(uint32_t size) {
  lseg_segment_params p = lseg_segment_params_default();
  p.size = size;
  return p;
}

const double kScales[2] = {0.75, 1.25};

lseg_segment_params c_multi() {
  lseg_segment_params p = lseg_segment_params_default();
  p.mode = LSEG_MODE_MULTI_SCALE;
  p.base_size = 80;
  p.crop_size = 64;
  p.scales = kScales;
  p.n_scales = 2;
  return p;
}

lseg::SegmentOptions cpp_single(uint32_t size) {
  lseg::SegmentOptions o;
  o.size = size;
  return o;
}

lseg::SegmentOptions cpp_multi() {
  lseg::SegmentOptions o;
  o.mode = lseg::Mode::MultiScale;
  o.base_size = 80;
  o.crop_size = 64;
  o.scales = {kScales[0], kScales[1]};
  return o;
}

bool equals_c(const lseg::Segmentation &s, const COut &c) {
  return c.status == LSEG_OK && same(s.label_map, c.label_map) && same(s.scores, c.scores) &&
         same(s.confidence, c.confidence);
}

bool equals_refs(const lseg::Segmentation &s, const char *name) {
  std::string base = std::string("ref_") + name;
  return same(s.label_map, read_typed<uint16_t>((base + "_labels.u16").c_str())) &&
         same(s.scores, read_typed<float>((base + "_scores.f32").c_str())) &&
         same(s.confidence, read_typed<float>((base + "_conf.f32").c_str()));
}

// ---------------------------------------------------------------------------------------------

void test_version_status_and_enums() {
  CHECK(std::strcmp(lseg::version(), LSEG_VERSION_STRING) == 0);
  CHECK(lseg::abi_version() == LSEG_ABI_VERSION);
  CHECK(std::strcmp(lseg::status_name(lseg::Status::Io), "LSEG_ERR_IO") == 0);
  CHECK(std::strcmp(lseg::status_name(lseg::Status::Ok), "LSEG_OK") == 0);
  CHECK(lseg::backend_is_compiled(lseg::Backend::Default));
  CHECK(!lseg::backend_is_compiled(static_cast<lseg::Backend>(99)));
  CHECK(lseg::cuda_device_count() == lseg_cuda_device_count());
  static_assert(static_cast<int32_t>(lseg::Status::Internal) == LSEG_ERR_INTERNAL, "");
  static_assert(static_cast<int32_t>(lseg::Status::Cancelled) == LSEG_ERR_CANCELLED, "");
  static_assert(static_cast<uint32_t>(lseg::Backend::TchCuda) == LSEG_BACKEND_TCH_CUDA, "");
  static_assert(static_cast<uint32_t>(lseg::PixelFormat::GRAY8) == LSEG_PIXEL_FORMAT_GRAY8, "");
  static_assert(static_cast<uint32_t>(lseg::EmbedNorm::L2Scaled) == LSEG_EMBED_NORM_L2_SCALED, "");
  static_assert(static_cast<uint32_t>(lseg::Layout::HWC) == LSEG_LAYOUT_HWC, "");
  static_assert(lseg::channels(lseg::PixelFormat::BGRA8) == 4 && lseg::channels(lseg::PixelFormat::GRAY8) == 1, "");
  static_assert(lseg::Image::bgr(nullptr, 10, 2).stride == 30, "");
  static_assert(lseg::Image::gray(nullptr, 10, 2, 16).stride == 16, "");
  for (int32_t s = 0; s <= LSEG_ERR_INTERNAL; s++)
    CHECK(std::strcmp(lseg::status_name(static_cast<lseg::Status>(s)), lseg_status_name(s)) == 0);
  for (uint32_t label : {0u, 1u, 20u, 300u}) {
    uint8_t c[3] = {1, 2, 3};
    CHECK(lseg_label_color(label, c) == LSEG_OK);
    const auto rgb = lseg::label_color(label);
    CHECK(rgb[0] == c[0] && rgb[1] == c[1] && rgb[2] == c[2]);
  }
  CHECK(lseg::label_color(0) != lseg::label_color(1));
}

// The C++ option structs' defaults are the C *_default() values.
void test_defaults_mirror_c() {
  lseg_model_params mp = lseg_model_params_default();
  lseg::ModelOptions mo;
  CHECK(static_cast<uint32_t>(mo.backend) == mp.backend && mo.device_index == mp.device_index &&
        static_cast<uint32_t>(mo.dtype) == mp.dtype && mo.threads == mp.n_threads &&
        mo.config_json.empty() && mp.config_json == nullptr);
  lseg_segment_params sp = lseg_segment_params_default();
  lseg::SegmentOptions so;
  CHECK(static_cast<uint32_t>(so.mode) == sp.mode && so.size == sp.size && so.base_size == sp.base_size &&
        so.crop_size == sp.crop_size && (so.flip ? 1u : 0u) == sp.flip && so.scales.empty() &&
        sp.scales == nullptr && sp.n_scales == 0 && !so.progress && sp.progress == nullptr);
  lseg_embed_params ep = lseg_embed_params_default();
  lseg::EmbedOptions eo;
  CHECK(eo.size == ep.size && static_cast<uint32_t>(eo.norm) == ep.norm &&
        static_cast<uint32_t>(eo.resolution) == ep.resolution && static_cast<uint32_t>(eo.dtype) == ep.dtype &&
        static_cast<uint32_t>(eo.layout) == ep.layout);
  lseg_segment_params c = lseg::detail::to_c(so);
  CHECK(std::memcmp(&c, &sp, sizeof c) == 0);
  lseg_embed_params e = lseg::detail::to_c(eo);
  CHECK(std::memcmp(&e, &ep, sizeof e) == 0);
}

void test_model_from_file_and_memory() {
  lseg::ModelOptions opts;
  opts.threads = 2;
  lseg::Result<lseg::Model> m = lseg::Model::try_load(model_path(), opts);
  CHECK_OK(m);
  CHECK(m.ok() && m.status() == lseg::Status::Ok && m.error().status() == lseg::Status::Ok);
  CHECK(m && m->embed_dim() == 512 && static_cast<bool>(*m));

  std::vector<uint8_t> bytes = read_file(t_fixtures, "tiny_vit16.safetensors");
  lseg::Result<lseg::Model> mem = lseg::Model::try_load_memory(bytes.data(), bytes.size());
  CHECK_OK(mem);
  std::fill(bytes.begin(), bytes.end(), uint8_t{0});  // only read during the call
  CHECK(mem && mem->embed_dim() == 512);

  // The repository fixture has no metadata: it needs config_json.
  std::vector<uint8_t> plain = read_file(t_repo_fixtures, "tiny_vit16.safetensors");
  std::vector<uint8_t> cfg = read_file(t_fixtures, "tiny_vit16.config.json");
  lseg::ModelOptions with_cfg;
  CHECK_ERR(lseg::Model::try_load_memory(plain.data(), plain.size(), with_cfg), lseg::Status::Config, "hook");
  with_cfg.config_json.assign(cfg.begin(), cfg.end());
  lseg::Result<lseg::Model> m2 = lseg::Model::try_load_memory(plain.data(), plain.size(), with_cfg);
  CHECK_OK(m2);
  CHECK(m2 && m2->embed_dim() == 512);
  with_cfg.config_json = "{\"vit\": 3}";
  CHECK_ERR(lseg::Model::try_load_memory(plain.data(), plain.size(), with_cfg), lseg::Status::Config, "");
#if LSEG_CPP_EXCEPTIONS
  lseg::Model thrown(model_path(), opts);
  CHECK(thrown.embed_dim() == 512);
  std::vector<uint8_t> again = read_file(t_fixtures, "tiny_vit16.safetensors");
  lseg::Model loaded = lseg::Model::load_memory(again.data(), again.size());
  CHECK(loaded.embed_dim() == 512);
  lseg::Model by_load = lseg::Model::load(model_path());
  CHECK(by_load.embed_dim() == 512);
#endif
}

// Errors carry the C status and the C message (the same text lseg_last_error() gives).
void test_errors_status_and_message() {
  const std::string missing = "/nonexistent/dir/w.safetensors";
  lseg::Result<lseg::Model> r = lseg::Model::try_load(missing);
  CHECK_ERR(r, lseg::Status::Io, missing.c_str());
  {
    lseg_model_params p = lseg_model_params_default();
    lseg_model *m = nullptr;
    p.weights_path = missing.c_str();
    CHECK(lseg_create(&p, &m) == LSEG_ERR_IO);
    CHECK(r.error().what() == std::string(lseg_last_error()));
  }
  // Corrupt bytes, a bad backend and dtype.
  std::vector<uint8_t> bytes = read_file(t_fixtures, "tiny_vit16.safetensors");
  CHECK_ERR(lseg::Model::try_load_memory(bytes.data(), bytes.size() / 2), lseg::Status::InvalidWeights, "");
  std::memset(bytes.data() + 8, '#', 32);
  CHECK_ERR(lseg::Model::try_load_memory(bytes.data(), bytes.size()), lseg::Status::InvalidWeights, "");
  CHECK_ERR(lseg::Model::try_load_memory(nullptr, 0), lseg::Status::InvalidArgument, "weights");
  lseg::ModelOptions o;
  o.backend = static_cast<lseg::Backend>(99);
  CHECK_ERR(lseg::Model::try_load(model_path(), o), lseg::Status::InvalidArgument, "backend");
  o = lseg::ModelOptions{};
  o.dtype = static_cast<lseg::DType>(9);
  CHECK_ERR(lseg::Model::try_load(model_path(), o), lseg::Status::InvalidArgument, "dtype");
  if (lseg::backend_is_compiled(lseg::Backend::Ndarray)) {
    o = lseg::ModelOptions{};
    o.backend = lseg::Backend::Ndarray;
    o.dtype = lseg::DType::F16;
    CHECK_ERR(lseg::Model::try_load(model_path(), o), lseg::Status::BackendUnavailable, "f16");
  }
  if (!lseg::backend_is_compiled(lseg::Backend::TchCpu)) {
    o = lseg::ModelOptions{};
    o.backend = lseg::Backend::TchCpu;
    CHECK_ERR(lseg::Model::try_load(model_path(), o), lseg::Status::BackendUnavailable, "not compiled");
  }
  // This header's own checks: NUL bytes that C strings cannot carry.
  CHECK_ERR(lseg::Model::try_load(std::string("a\0b", 3)), lseg::Status::InvalidArgument, "NUL");
  o = lseg::ModelOptions{};
  o.config_json = std::string("{}\0x", 4);
  CHECK_ERR(lseg::Model::try_load(model_path(), o), lseg::Status::InvalidArgument, "config_json");

  lseg::Model m = load_model();
  // Labels: empty list, empty label, NUL byte, bad UTF-8.
  CHECK_ERR(m.try_encode_labels(std::vector<std::string>{}), lseg::Status::Label, "empty");
  CHECK_ERR(m.try_encode_labels({}), lseg::Status::Label, "empty");
  lseg::Result<lseg::Labels> e = m.try_encode_labels({"dog", ""});
  CHECK_ERR(e, lseg::Status::Label, "label 1");
  {
    const char *c[2] = {"dog", ""};
    lseg_labels *l = nullptr;
    CHECK(lseg_encode_labels(m.get(), c, 2, &l) == LSEG_ERR_LABEL);
    CHECK(e.error().what() == std::string(lseg_last_error()));
  }
  CHECK_ERR(m.try_encode_labels({"dog", std::string_view("gr\0ss", 5)}), lseg::Status::Label, "NUL");
  CHECK_ERR(m.try_encode_labels({"dog", "gr\xc3\x28ss"}), lseg::Status::Label, "UTF-8");

  // Images: stride, empty, too large (the vector overload allocates nothing for it).
  lseg::Labels l = encode(m);
  lseg::SegmentOptions so = cpp_single(64);
  lseg::Image bad = lseg::Image::rgb(g_rgb.data(), W, H, W * 3 - 1);
  lseg::Result<lseg::Segmentation> s = m.try_segment(l, bad, so);
  CHECK_ERR(s, lseg::Status::InvalidArgument, "stride");
  {
    lseg_image img = bad.to_c();
    COut c = c_segment(m, l, img, c_single(64));
    CHECK(c.status == LSEG_ERR_INVALID_ARGUMENT && s.error().what() == std::string(lseg_last_error()));
  }
  bad = rgb_image();
  bad.width = 0;
  CHECK_ERR(m.try_segment(l, bad, so), lseg::Status::InvalidArgument, "empty");
  bad.width = bad.height = 0xffffffffu;
  CHECK_ERR(m.try_segment(l, bad, so, lseg::Output::All), lseg::Status::InvalidArgument, "16384");
  bad = rgb_image();
  bad.format = static_cast<lseg::PixelFormat>(7);
  CHECK_ERR(m.try_segment(l, bad, so), lseg::Status::InvalidArgument, "format");
  bad = rgb_image();
  bad.data = nullptr;
  CHECK_ERR(m.try_embed(bad, lseg::EmbedOptions{}), lseg::Status::InvalidArgument, "data");
  // Options.
  so.size = 100000;
  CHECK_ERR(m.try_segment(l, rgb_image(), so), lseg::Status::InvalidArgument, "size");
  so = cpp_multi();
  so.scales = {1.0, -1.0};
  CHECK_ERR(m.try_segment(l, rgb_image(), so), lseg::Status::InvalidArgument, "scales[1]");
  so = cpp_multi();
  so.crop_size = 50;
  CHECK_ERR(m.try_segment(l, rgb_image(), so), lseg::Status::InvalidArgument, "crop_size");
  CHECK_ERR(m.try_segment(l, rgb_image(), cpp_single(64), static_cast<lseg::Output>(0)),
            lseg::Status::InvalidArgument, "nothing");
  // Caller buffers one element short: nothing written.
  std::vector<uint16_t> lm(W * H - 1, 0xabcd);
  std::vector<float> sc(N * W * H), cf(W * H);
  CHECK_ERR(m.try_segment(l, rgb_image(), lseg::SegmentOutputs{lm, {}, {}}, cpp_single(64)),
            lseg::Status::BufferTooSmall, "label_map");
  CHECK(std::all_of(lm.begin(), lm.end(), [](uint16_t v) { return v == 0xabcd; }));
  sc.pop_back();
  CHECK_ERR(m.try_segment(l, rgb_image(), lseg::SegmentOutputs{{}, sc, {}}, cpp_single(64)),
            lseg::Status::BufferTooSmall, "scores");
  cf.pop_back();
  CHECK_ERR(m.try_segment(l, rgb_image(), lseg::SegmentOutputs{{}, {}, cf}, cpp_single(64)),
            lseg::Status::BufferTooSmall, "confidence");
  std::vector<float> few(N * 512 - 1);
  CHECK_ERR(l.try_embeddings(few), lseg::Status::BufferTooSmall, "");
  lseg::EmbedOptions eo;
  eo.size = 64;
  lseg::Result<lseg::EmbedShape> shape = m.try_embed_shape(W, H, eo);
  CHECK_OK(shape);
  std::vector<uint8_t> out(shape->bytes);
  CHECK_ERR(m.try_embed(rgb_image(), out.data(), out.size() - 1, eo), lseg::Status::BufferTooSmall, "");
  eo.dtype = lseg::DType::BF16;
  CHECK_ERR(m.try_embed(rgb_image(), out.data(), out.size(), eo), lseg::Status::InvalidArgument, "dtype");
  CHECK_ERR(m.try_embed_shape(0, H, lseg::EmbedOptions{}), lseg::Status::InvalidArgument, "");
  // Image files.
  CHECK_ERR(lseg::LoadedImage::try_load("/nonexistent/x.png"), lseg::Status::Io, "/nonexistent/x.png");
  CHECK_ERR(lseg::LoadedImage::try_load(path(t_fixtures, "tiny_vit16.config.json")),
            lseg::Status::ImageDecode, "");
  CHECK_ERR(lseg::LoadedImage::try_load(path(t_fixtures, "image_100x70.png"), static_cast<lseg::PixelFormat>(5)),
            lseg::Status::InvalidArgument, "format");
  // Labels belong to their model.
  lseg::Model other = load_model();
  CHECK_ERR(other.try_segment(l, rgb_image(), cpp_single(64)), lseg::Status::InvalidArgument, "another model");
  // After all that, the model still works.
  CHECK_OK(m.try_segment(l, rgb_image(), cpp_single(64)));
}

void test_labels_parity_and_overloads() {
  lseg::Model m = load_model();
  std::vector<float> ref = read_typed<float>("ref_text.f32");
  // Direct C.
  lseg_labels *cl = nullptr;
  CHECK(lseg_encode_labels(m.get(), kLabelsC, N, &cl) == LSEG_OK);
  std::vector<float> c(N * 512);
  CHECK(lseg_labels_embeddings(cl, c.data(), c.size()) == LSEG_OK);
  lseg_labels_free(cl);
  CHECK(same(c, ref));

  lseg::Labels l = encode(m);
  CHECK(l.size() == N && l.dim() == 512 && static_cast<bool>(l));
  lseg::Result<std::vector<float>> e = l.try_embeddings();
  CHECK_OK(e);
  CHECK(e && same(*e, ref));
  std::vector<float> buf(N * 512 + 3, 7.0f);  // larger is fine
  CHECK_OK(l.try_embeddings(buf));
  buf.resize(N * 512);
  CHECK(same(buf, ref));

  // Every input form gives the same set.
  const std::vector<std::string_view> views(kLabels.begin(), kLabels.end());
  const std::vector<const char *> ptrs(kLabelsC, kLabelsC + N);
  lseg::Result<lseg::Labels> forms[] = {
      m.try_encode_labels({"dog", "grass", "other", "a red car", "sky"}),
      m.try_encode_labels(views),
      m.try_encode_labels(lseg::Span<const std::string_view>(views.data(), views.size())),
      m.try_encode_labels(ptrs),
      m.try_encode_labels(lseg::Span<const char *const>(kLabelsC, N), true),
  };
  for (auto &f : forms) {
    CHECK_OK(f);
    CHECK(f && f->size() == N && same(f->try_embeddings().value(), ref));
  }
  // Truncation of labels over 77 tokens.
  std::string long_label;
  for (int i = 0; i < 200; i++) long_label += "cat ";
  CHECK_ERR(m.try_encode_labels({"dog", long_label}), lseg::Status::Label, "77");
  lseg::Result<lseg::Labels> t = m.try_encode_labels({"dog", long_label}, true);
  CHECK_OK(t);
  CHECK(t && t->size() == 2);
#if LSEG_CPP_EXCEPTIONS
  lseg::Labels thrown = m.encode_labels(kLabels);
  CHECK(same(thrown.embeddings(), ref));
  CHECK(same(m.encode_labels({"dog", "grass", "other", "a red car", "sky"}).embeddings(), ref));
  CHECK(same(m.encode_labels(views).embeddings(), ref));
  CHECK(same(m.encode_labels(ptrs).embeddings(), ref));
  std::vector<float> tb(N * 512);
  thrown.embeddings(tb);
  CHECK(same(tb, ref));
#endif
}

void test_segment_single_scale_parity() {
  lseg::Model m = load_model();
  lseg::Labels l = encode(m);
  lseg_image cimg = rgb_image().to_c();
  COut c = c_segment(m, l, cimg, c_single(96));
  lseg::Result<lseg::Segmentation> s = m.try_segment(l, rgb_image(), cpp_single(96), lseg::Output::All);
  CHECK_OK(s);
  CHECK(s && s->width == W && s->height == H && s->count == N);
  CHECK(s && equals_c(*s, c));
  CHECK(s && equals_refs(*s, "single"));
  // Default outputs: label map and confidence, no scores.
  lseg::Result<lseg::Segmentation> d = m.try_segment(l, rgb_image(), cpp_single(96));
  CHECK(d && d->scores.empty() && same(d->label_map, c.label_map) && same(d->confidence, c.confidence));
  lseg::Result<lseg::Segmentation> only = m.try_segment(l, rgb_image(), cpp_single(96), lseg::Output::Scores);
  CHECK(only && only->label_map.empty() && only->confidence.empty() && same(only->scores, c.scores));
  // Caller buffers (a larger label map is fine) equal the vectors.
  std::vector<uint16_t> lm(W * H + 10, 0xffff);
  std::vector<float> sc(N * W * H), cf(W * H);
  CHECK_OK(m.try_segment(l, rgb_image(), lseg::SegmentOutputs{lm, sc, cf}, cpp_single(96)));
  lm.resize(W * H);
  CHECK(same(lm, c.label_map) && same(sc, c.scores) && same(cf, c.confidence));
  std::vector<float> cf2(W * H);
  lseg::SegmentOutputs just_conf;
  just_conf.confidence = lseg::Span<float>(cf2.data(), cf2.size());
  CHECK_OK(m.try_segment(l, rgb_image(), just_conf, cpp_single(96)));
  CHECK(same(cf2, c.confidence));
#if LSEG_CPP_EXCEPTIONS
  lseg::Segmentation t = m.segment(l, rgb_image(), cpp_single(96), lseg::Output::All);
  CHECK(equals_c(t, c));
  std::fill(lm.begin(), lm.end(), uint16_t{0});
  m.segment(l, rgb_image(), lseg::SegmentOutputs{lm, {}, {}}, cpp_single(96));
  CHECK(same(lm, c.label_map));
#endif
}

void test_segment_batch_equals_segment() {
  lseg::Model m = load_model();
  lseg::Labels l = encode(m);
  // Two images of one size and one of half the height (its first rows).
  lseg::Image half = lseg::Image::rgb(g_rgb.data(), W, H / 2);
  std::vector<lseg::Image> images{rgb_image(), half, rgb_image()};
  lseg::Result<std::vector<lseg::Segmentation>> b = m.try_segment_batch(l, images, cpp_single(96), lseg::Output::All);
  CHECK_OK(b);
  CHECK(b && b->size() == 3);
  for (size_t i = 0; b && i < 3; ++i) {
    lseg::Result<lseg::Segmentation> one = m.try_segment(l, images[i], cpp_single(96), lseg::Output::All);
    CHECK(one && (*b)[i].width == one->width && (*b)[i].height == one->height);
    CHECK(one && same((*b)[i].label_map, one->label_map));
    CHECK(one && (*b)[i].scores.size() == one->scores.size());
  }
  // Defaults: label map and confidence only.
  lseg::Result<std::vector<lseg::Segmentation>> d = m.try_segment_batch(l, images, cpp_single(96));
  CHECK(d && (*d)[1].scores.empty() && (*d)[1].label_map.size() == size_t{W} * (H / 2));
  // An error names the image; nothing is returned.
  std::vector<lseg::Image> bad{rgb_image(), lseg::Image::rgb(g_rgb.data(), 0, H)};
  CHECK_ERR(m.try_segment_batch(l, bad, cpp_single(96)), lseg::Status::InvalidArgument, "images[1]");
  CHECK_ERR(m.try_segment_batch(l, lseg::Span<const lseg::Image>(), cpp_single(96)), lseg::Status::InvalidArgument,
            "n_images");
#if LSEG_CPP_EXCEPTIONS
  std::vector<lseg::Segmentation> t = m.segment_batch(l, images, cpp_single(96));
  CHECK(t.size() == 3 && b && same(t[2].label_map, (*b)[2].label_map));
#endif
}

void test_segment_multi_scale_parity() {
  lseg::Model m = load_model();
  lseg::Labels l = encode(m);
  lseg_image cimg = rgb_image().to_c();
  COut c = c_segment(m, l, cimg, c_multi());
  lseg::Result<lseg::Segmentation> s = m.try_segment(l, rgb_image(), cpp_multi(), lseg::Output::All);
  CHECK_OK(s);
  CHECK(s && equals_c(*s, c));
  CHECK(s && equals_refs(*s, "ms"));
  std::vector<uint16_t> lm(W * H);
  std::vector<float> sc(N * W * H), cf(W * H);
  CHECK_OK(m.try_segment(l, rgb_image(), lseg::SegmentOutputs{lm, sc, cf}, cpp_multi()));
  CHECK(same(lm, c.label_map) && same(sc, c.scores) && same(cf, c.confidence));
  // Without flip: still the C API's result.
  lseg::SegmentOptions nf = cpp_multi();
  nf.flip = false;
  lseg_segment_params cnf = c_multi();
  cnf.flip = 0;
  lseg::Result<lseg::Segmentation> s2 = m.try_segment(l, rgb_image(), nf, lseg::Output::All);
  CHECK(s2 && equals_c(*s2, c_segment(m, l, cimg, cnf)));
}

// Every pixel format (from the RGB fixture), packed and with padded rows, equals the C API
// on the same pixels, and the RGB result.
void test_segment_pixel_formats() {
  lseg::Model m = load_model();
  lseg::Labels l = encode(m);
  lseg::Result<lseg::Segmentation> ref = m.try_segment(l, rgb_image(), cpp_single(64), lseg::Output::All);
  CHECK_OK(ref);
  const lseg::PixelFormat formats[] = {lseg::PixelFormat::RGB8, lseg::PixelFormat::BGR8, lseg::PixelFormat::RGBA8,
                                       lseg::PixelFormat::BGRA8};
  for (lseg::PixelFormat f : formats) {
    for (size_t pad : {size_t{0}, size_t{13}}) {
      const size_t ch = lseg::channels(f), stride = W * ch + pad;
      const bool bgr = f == lseg::PixelFormat::BGR8 || f == lseg::PixelFormat::BGRA8;
      std::vector<uint8_t> buf(stride * H, 0x5a);
      for (uint32_t y = 0; y < H; y++)
        for (uint32_t x = 0; x < W; x++) {
          const uint8_t *s = &g_rgb[(y * W + x) * 3];
          uint8_t *t = &buf[y * stride + x * ch];
          t[0] = s[bgr ? 2 : 0];
          t[1] = s[1];
          t[2] = s[bgr ? 0 : 2];
          if (ch == 4) t[3] = static_cast<uint8_t>(x * 7);
        }
      lseg::Image img = lseg::Image::view(buf.data(), W, H, f, pad ? stride : 0);
      CHECK(img.stride == stride);
      lseg::Result<lseg::Segmentation> s = m.try_segment(l, img, cpp_single(64), lseg::Output::All);
      CHECK(s && equals_c(*s, c_segment(m, l, img.to_c(), c_single(64))));
      CHECK(s && ref && same(s->label_map, ref->label_map) && same(s->scores, ref->scores));
    }
  }
  // Helpers name the formats.
  CHECK(lseg::Image::bgra(g_rgb.data(), 1, 1).format == lseg::PixelFormat::BGRA8);
  CHECK(lseg::Image::rgba(g_rgb.data(), 2, 1).stride == 8);
  // GRAY8 equals RGB8 with r = g = b, and the C API.
  std::vector<uint8_t> gray(W * H), gray3(W * H * 3);
  for (size_t i = 0; i < W * H; i++) gray[i] = gray3[3 * i] = gray3[3 * i + 1] = gray3[3 * i + 2] = g_rgb[3 * i + 1];
  lseg::Image g = lseg::Image::gray(gray.data(), W, H);
  lseg::Result<lseg::Segmentation> sg = m.try_segment(l, g, cpp_single(64), lseg::Output::All);
  lseg::Result<lseg::Segmentation> s3 =
      m.try_segment(l, lseg::Image::rgb(gray3.data(), W, H), cpp_single(64), lseg::Output::All);
  CHECK(sg && s3 && same(sg->scores, s3->scores));
  CHECK(sg && equals_c(*sg, c_segment(m, l, g.to_c(), c_single(64))));
  // A sub-rectangle (stride of the full image), input-size mode.
  lseg::Image sub = lseg::Image::rgb(g_rgb.data(), 33, 7, W * 3);
  lseg::Result<lseg::Segmentation> ss = m.try_segment(l, sub, cpp_single(0), lseg::Output::All);
  CHECK(ss && ss->label_map.size() == 33 * 7 && equals_c(*ss, c_segment(m, l, sub.to_c(), c_single(0))));
}

void test_loaded_image() {
  lseg::Result<lseg::LoadedImage> r = lseg::LoadedImage::try_load(path(t_fixtures, "image_100x70.png"));
  CHECK_OK(r);
  if (!r) return;
  lseg::LoadedImage img = std::move(r).value();
  CHECK(img.width() == W && img.height() == H && img.stride() == W * 3 && img.format() == lseg::PixelFormat::RGB8);
  CHECK(img.data() && std::memcmp(img.data(), g_rgb.data(), g_rgb.size()) == 0);
  lseg::Image v = img;  // implicit view
  CHECK(v.data == img.data() && v.width == W && v.stride == W * 3);
  lseg::LoadedImage moved = std::move(img);
  CHECK(!img && img.data() == nullptr && img.width() == 0 && moved.data() == v.data);
  lseg::LoadedImage &alias = moved;
  moved = std::move(alias);  // self-move: no-op
  CHECK(moved.data() == v.data);
  img = std::move(moved);
  CHECK(img.data() == v.data && !moved);
  lseg_image raw = img.release();
  CHECK(!img && raw.data == v.data);
  lseg_image_free(&raw);
  CHECK(raw.data == nullptr);
  lseg::Result<lseg::LoadedImage> bgra =
      lseg::LoadedImage::try_load(path(t_fixtures, "image_100x70.png"), lseg::PixelFormat::BGRA8);
  CHECK(bgra && bgra->stride() == W * 4 && bgra->data()[2] == g_rgb[0] && bgra->data()[3] == 255);
  // A loaded image segments like the raw pixels.
  lseg::Model m = load_model();
  lseg::Labels l = encode(m);
  lseg::Result<lseg::LoadedImage> again = lseg::LoadedImage::try_load(path(t_fixtures, "image_100x70.png"));
  CHECK(again);
  if (!again) return;
  lseg::Result<lseg::Segmentation> a = m.try_segment(l, *again, cpp_single(64), lseg::Output::All);
  lseg::Result<lseg::Segmentation> b = m.try_segment(l, rgb_image(), cpp_single(64), lseg::Output::All);
  CHECK(a && b && same(a->scores, b->scores));
#if LSEG_CPP_EXCEPTIONS
  lseg::LoadedImage thrown(path(t_fixtures, "image_100x70.png"), lseg::PixelFormat::GRAY8);
  CHECK(thrown.stride() == W);
#endif
}

void test_embed_parity() {
  lseg::Model m = load_model();
  lseg::EmbedOptions o;
  o.size = 64;
  lseg_embed_params cp = lseg_embed_params_default();
  cp.size = 64;
  lseg::Result<lseg::EmbedShape> shape = m.try_embed_shape(W, H, o);
  CHECK_OK(shape);
  CHECK(shape && shape->dim == 512 && shape->width == 32 && shape->height == 23 &&
        shape->bytes == 512 * 32 * 23 * 4);
  lseg_image cimg = rgb_image().to_c();
  auto c_embed = [&](const lseg_embed_params &p) {
    size_t bytes = 0;
    lseg_embed_shape(m.get(), W, H, &p, nullptr, nullptr, nullptr, &bytes);
    std::vector<uint8_t> out(bytes);
    CHECK(lseg_embed(m.get(), &cimg, &p, out.data(), out.size()) == LSEG_OK);
    return out;
  };
  auto as_bytes = [](const auto &v) {
    const uint8_t *p = reinterpret_cast<const uint8_t *>(v.data());
    return std::vector<uint8_t>(p, p + v.size() * sizeof(v[0]));
  };
  lseg::Result<lseg::Embedding> e = m.try_embed(rgb_image(), o);
  CHECK_OK(e);
  CHECK(e && e->dim == 512 && e->height == 23 && e->width == 32 && e->dtype == lseg::DType::F32 && e->f16.empty());
  CHECK(e && as_bytes(e->f32) == c_embed(cp));
  CHECK(e && same(e->f32, read_typed<float>("ref_embed_l2_native.f32")));
  // Caller buffer.
  std::vector<float> buf(512 * 32 * 23);
  CHECK_OK(m.try_embed(rgb_image(), buf.data(), buf.size() * 4, o));
  CHECK(e && same(buf, e->f32));
  // HWC, f16, raw at the input resolution.
  o.layout = lseg::Layout::HWC;
  cp.layout = LSEG_LAYOUT_HWC;
  lseg::Result<lseg::Embedding> hwc = m.try_embed(rgb_image(), o);
  CHECK(hwc && hwc->layout == lseg::Layout::HWC && as_bytes(hwc->f32) == c_embed(cp));
  o.layout = lseg::Layout::CHW;
  cp.layout = LSEG_LAYOUT_CHW;
  o.dtype = lseg::DType::F16;
  cp.dtype = LSEG_DTYPE_F16;
  lseg::Result<lseg::Embedding> h = m.try_embed(rgb_image(), o);
  CHECK(h && h->f32.empty() && h->f16.size() == 512 * 32 * 23 && as_bytes(h->f16) == c_embed(cp));
  o = lseg::EmbedOptions{};
  o.size = 64;
  o.norm = lseg::EmbedNorm::Raw;
  o.resolution = lseg::EmbedResolution::Input;
  lseg::Result<lseg::Embedding> raw = m.try_embed(rgb_image(), o);
  CHECK(raw && raw->height == H && raw->width == W && same(raw->f32, read_typed<float>("ref_embed_raw_input.f32")));
#if LSEG_CPP_EXCEPTIONS
  lseg::EmbedOptions t;
  t.size = 64;
  CHECK(e && same(m.embed(rgb_image(), t).f32, e->f32));
  CHECK(m.embed_shape(W, H, t).bytes == shape->bytes);
  std::fill(buf.begin(), buf.end(), 0.0f);
  m.embed(rgb_image(), buf.data(), buf.size() * 4, t);
  CHECK(e && same(buf, e->f32));
#endif
}

#if LSEG_CPP_EXCEPTIONS
struct Boom : std::runtime_error {
  Boom() : std::runtime_error("boom") {}
};
#endif

void test_progress_and_cancel() {
  lseg::Model m = load_model();
  lseg::Labels l = encode(m);
  lseg::SegmentOptions o = cpp_multi();
  size_t calls = 0, last = 0, total = 0;
  bool monotonic = true;
  o.progress = [&](size_t done, size_t t) {
    if (done <= last || done > t) monotonic = false;
    calls++;
    last = done;
    total = t;
    return true;
  };
  lseg::Result<lseg::Segmentation> s = m.try_segment(l, rgb_image(), o, lseg::Output::All);
  CHECK_OK(s);
  CHECK(monotonic && calls >= 2 && last == total);
  CHECK(s && equals_refs(*s, "ms"));
  // Cancel at the first call: Cancelled, buffers untouched.
  calls = 0;
  o.progress = [&](size_t, size_t) {
    calls++;
    return false;
  };
  std::vector<uint16_t> lm(W * H, 0xffff);
  CHECK_ERR(m.try_segment(l, rgb_image(), lseg::SegmentOutputs{lm, {}, {}}, o), lseg::Status::Cancelled, "");
  CHECK(calls == 1 && std::all_of(lm.begin(), lm.end(), [](uint16_t v) { return v == 0xffff; }));
  CHECK_ERR(m.try_segment(l, rgb_image(), o), lseg::Status::Cancelled, "");
#if LSEG_CPP_EXCEPTIONS
  CHECK_THROWS(m.segment(l, rgb_image(), o).label_map.size(), lseg::Status::Cancelled, "");
  // A throwing callback: the exception comes out of the call (never through the C library),
  // from the try_* and the throwing calls, and the model stays usable.
  calls = 0;
  o.progress = [&](size_t, size_t) -> bool {
    calls++;
    throw Boom();
  };
  for (int i = 0; i < 2; i++) {
    bool caught = false;
    try {
      if (i == 0) {
        (void)m.try_segment(l, rgb_image(), o);
      } else {
        m.segment(l, rgb_image(), lseg::SegmentOutputs{lm, {}, {}}, o);
      }
    } catch (const Boom &) {
      caught = true;
    }
    CHECK(caught);
  }
  CHECK(calls == 2 && std::all_of(lm.begin(), lm.end(), [](uint16_t v) { return v == 0xffff; }));
  o.progress = nullptr;
  lseg::Segmentation after = m.segment(l, rgb_image(), o, lseg::Output::All);
  CHECK(equals_refs(after, "ms"));
#endif
}

// Moved-from and empty objects give the C API's NULL-handle errors, never a crash.
void test_moved_from_and_empty() {
  lseg::Model a = load_model();
  lseg::Model b = std::move(a);
  CHECK(!a && a.get() == nullptr && a.embed_dim() == 0 && b.embed_dim() == 512);
  CHECK_ERR(a.try_encode_labels({"dog"}), lseg::Status::InvalidArgument, "`model` is NULL");
  lseg::Labels l = encode(b);
  CHECK_ERR(a.try_segment(l, rgb_image(), cpp_single(64)), lseg::Status::InvalidArgument, "`model` is NULL");
  CHECK_ERR(a.try_embed_shape(W, H), lseg::Status::InvalidArgument, "`model` is NULL");
  CHECK_ERR(a.try_embed(rgb_image()), lseg::Status::InvalidArgument, "`model` is NULL");
  lseg::Labels l2 = std::move(l);
  CHECK(!l && l.size() == 0 && l.dim() == 0 && l2.size() == N);
  CHECK_ERR(l.try_embeddings(), lseg::Status::InvalidArgument, "`labels` is NULL");
  CHECK_ERR(b.try_segment(l, rgb_image(), cpp_single(64), lseg::Output::All), lseg::Status::InvalidArgument,
            "`labels` is NULL");
  // Self-move-assignment keeps the object.
  lseg::Model &ma = b;
  b = std::move(ma);
  lseg::Labels &la = l2;
  l2 = std::move(la);
  CHECK(b.embed_dim() == 512 && l2.size() == N);
  CHECK_OK(b.try_segment(l2, rgb_image(), cpp_single(64)));
  // Assignment into a moved-from object, and over a live one (which is freed).
  a = std::move(b);
  CHECK(a.embed_dim() == 512 && !b);
  a = load_model();
  l = encode(a);
  CHECK_OK(a.try_segment(l, rgb_image(), cpp_single(64)));
  // Default-constructed objects behave as moved-from ones.
  lseg::Model none;
  lseg::Labels no_labels;
  CHECK_ERR(none.try_encode_labels(kLabels), lseg::Status::InvalidArgument, "model");
  CHECK_ERR(a.try_segment(no_labels, rgb_image()), lseg::Status::InvalidArgument, "labels");
#if LSEG_CPP_EXCEPTIONS
  CHECK_THROWS(none.encode_labels({"dog"}), lseg::Status::InvalidArgument, "model");
  CHECK_THROWS(no_labels.embeddings(), lseg::Status::InvalidArgument, "labels");
#endif
}  // destruction of the moved-from objects: no-ops

void test_release_get_round_trip() {
  lseg::Model m = load_model();
  lseg_model *raw = m.get();
  CHECK(raw && lseg_model_embed_dim(raw) == 512);
  lseg::Labels l = encode(m);
  lseg_labels *rl = l.release();
  CHECK(!l && lseg_labels_count(rl) == N);
  lseg::Labels adopted_labels(rl);
  CHECK(adopted_labels.get() == rl && adopted_labels.size() == N);
  lseg_labels_free(adopted_labels.release());
  lseg_model *r = m.release();
  CHECK(r == raw && !m && m.embed_dim() == 0);
  CHECK(lseg_model_embed_dim(r) == 512);
  lseg_free(r);
  CHECK(lseg_model_embed_dim(r) == 0);  // really freed
  // Adopting a handle from the C API.
  lseg_model_params p = lseg_model_params_default();
  std::string mp = model_path();
  p.weights_path = mp.c_str();
  lseg_model *c = nullptr;
  CHECK(lseg_create(&p, &c) == LSEG_OK);
  lseg::Model adopted(c);
  CHECK(adopted.embed_dim() == 512 && adopted.get() == c);
  lseg::Labels al = encode(adopted);
  CHECK_OK(adopted.try_segment(al, rgb_image(), cpp_single(64)));
}

// Four threads share one Model, each with its own Labels: identical results.
void test_threads_share_a_model() {
  const lseg::Model m = load_model();
  lseg::Labels l = encode(m);
  std::vector<std::vector<uint8_t>> images(3, g_rgb);
  for (size_t i = 0; i < g_rgb.size(); i++) {
    images[1][i] = static_cast<uint8_t>(255 - g_rgb[i]);
    images[2][i] = static_cast<uint8_t>(g_rgb[i] / 2 + 40);
  }
  std::vector<lseg::Segmentation> ref;
  for (auto &img : images)
    ref.push_back(m.try_segment(l, lseg::Image::rgb(img.data(), W, H), cpp_single(64), lseg::Output::All).value());
  std::vector<float> ref_text = l.try_embeddings().value();
  lseg::EmbedOptions eo;
  eo.size = 64;
  std::vector<float> ref_embed = m.try_embed(rgb_image(), eo).value().f32;
  int failures[4] = {0, 0, 0, 0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++)
    threads.emplace_back([&, t] {
      lseg::Result<lseg::Labels> own = m.try_encode_labels(kLabels);
      if (!own || !same(own->try_embeddings().value(), ref_text)) failures[t]++;
      if (!own) return;
      for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < images.size(); i++) {
          size_t k = (i + static_cast<size_t>(t)) % images.size();
          lseg::Result<lseg::Segmentation> s =
              m.try_segment(*own, lseg::Image::rgb(images[k].data(), W, H), cpp_single(64), lseg::Output::All);
          if (!s || !same(s->label_map, ref[k].label_map) || !same(s->scores, ref[k].scores) ||
              !same(s->confidence, ref[k].confidence))
            failures[t]++;
        }
      lseg::Result<lseg::Embedding> e = m.try_embed(rgb_image(), eo);
      if (!e || !same(e->f32, ref_embed)) failures[t]++;
      // The error message is per thread.
      lseg::Result<lseg::Labels> bad = m.try_encode_labels({"dog", ""});
      if (bad || bad.status() != lseg::Status::Label || !std::strstr(bad.error().what(), "label 1")) failures[t]++;
    });
  for (auto &th : threads) th.join();
  for (int t = 0; t < 4; t++) CHECK(failures[t] == 0);
}

#if LSEG_CPP_EXCEPTIONS
void test_throwing_layer() {
  CHECK_THROWS(lseg::Model("/nonexistent/w.safetensors"), lseg::Status::Io, "/nonexistent/w.safetensors");
  CHECK_THROWS(lseg::Model::load("/nonexistent/w.safetensors"), lseg::Status::Io, "w.safetensors");
  CHECK_THROWS(lseg::Model::load_memory("abcdefghijklmnop", 16), lseg::Status::InvalidWeights, "");
  lseg::ModelOptions o;
  o.backend = static_cast<lseg::Backend>(99);
  CHECK_THROWS(lseg::Model(model_path(), o), lseg::Status::InvalidArgument, "backend");
  // lseg::Error is a std::runtime_error.
  bool as_runtime = false;
  try {
    lseg::Model x("/nonexistent/w.safetensors");
  } catch (const std::runtime_error &e) {
    as_runtime = std::strstr(e.what(), "/nonexistent/w.safetensors") != nullptr;
  }
  CHECK(as_runtime);
  lseg::Model m(model_path());
  CHECK_THROWS(m.encode_labels(std::vector<std::string>{}), lseg::Status::Label, "empty");
  CHECK_THROWS(m.encode_labels({"dog", ""}), lseg::Status::Label, "label 1");
  lseg::Labels l = m.encode_labels(kLabels);
  std::vector<uint16_t> lm(10);
  CHECK_THROWS(m.segment(l, rgb_image(), lseg::SegmentOutputs{lm, {}, {}}, cpp_single(64)),
               lseg::Status::BufferTooSmall, "label_map");
  CHECK_THROWS(m.segment(l, lseg::Image::rgb(g_rgb.data(), W, H, 5)), lseg::Status::InvalidArgument, "stride");
  CHECK_THROWS(m.embed(lseg::Image::rgb(g_rgb.data(), 0, H)), lseg::Status::InvalidArgument, "empty");
  CHECK_THROWS(m.embed_shape(W, 20000), lseg::Status::InvalidArgument, "");
  CHECK_THROWS(lseg::LoadedImage("/nonexistent/x.png"), lseg::Status::Io, "/nonexistent/x.png");
  // Result::value() of a failure throws its Error.
  lseg::Result<lseg::Labels> r = m.try_encode_labels({""});
  CHECK_THROWS(r.value(), lseg::Status::Label, "label 0");
  lseg::Result<void> v = m.try_segment(l, rgb_image(), lseg::SegmentOutputs{lm, {}, {}});
  CHECK_THROWS(v.value(), lseg::Status::BufferTooSmall, "");
}
#else
// Without exceptions, value() of a failed Result calls the handler, then prints and aborts.
void test_bad_result_without_exceptions() {
  lseg::Model m = load_model();
  for (int with_handler = 0; with_handler < 2; with_handler++) {
    int fds[2];
    CHECK(pipe(fds) == 0);
    std::fflush(stdout);
    std::fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
      dup2(fds[1], 2);
      if (with_handler)
        lseg::set_bad_result_handler([](const lseg::Error &e) {
          std::fprintf(stderr, "handler: %s %s", e.status_name(), e.what());
          std::fflush(stderr);
          _exit(42);
        });
      lseg::Result<lseg::Labels> r = m.try_encode_labels({"dog", ""});
      (void)r.value().size();
      _exit(0);  // not reached
    }
    close(fds[1]);
    char buf[1024] = {0};
    size_t got = 0;
    ssize_t n;
    while (got < sizeof buf - 1 && (n = read(fds[0], buf + got, sizeof buf - 1 - got)) > 0) got += static_cast<size_t>(n);
    close(fds[0]);
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid);
    if (with_handler) {
      CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 42);
      CHECK(std::strstr(buf, "handler: LSEG_ERR_LABEL") && std::strstr(buf, "label 1"));
    } else {
      CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
      CHECK(std::strstr(buf, "LSEG_ERR_LABEL") && std::strstr(buf, "label 1"));
    }
  }
  CHECK(lseg::set_bad_result_handler(nullptr) == nullptr);  // the parent's is untouched
  // The same failures as the throwing layer, as Results.
  CHECK_ERR(lseg::Model::try_load("/nonexistent/w.safetensors"), lseg::Status::Io, "/nonexistent/w.safetensors");
  CHECK_ERR(lseg::LoadedImage::try_load("/nonexistent/x.png"), lseg::Status::Io, "/nonexistent/x.png");
  lseg::Result<void> ok = lseg::Result<void>();
  CHECK(ok.ok() && ok.status() == lseg::Status::Ok && *ok.error().what() == '\0');
  ok.value();  // a success: nothing happens
}
#endif

}  // namespace

int main(int argc, char **argv) {
  if (argc > 1) t_fixtures = argv[1];
  if (argc > 2) t_repo_fixtures = argv[2];
  g_rgb = read_file(t_fixtures, "image_100x70.rgb");
  if (g_rgb.size() != W * H * 3) {
    std::fprintf(stderr, "bad test image\n");
    return 2;
  }
  std::printf("lseg %s, C++ %ld, exceptions %d, span %s\n", lseg::version(), static_cast<long>(__cplusplus),
              LSEG_CPP_EXCEPTIONS,
#if defined(__cpp_lib_span)
              "std::span"
#else
              "lseg::Span"
#endif
  );
  RUN(test_version_status_and_enums);
  RUN(test_defaults_mirror_c);
  RUN(test_model_from_file_and_memory);
  RUN(test_errors_status_and_message);
  RUN(test_labels_parity_and_overloads);
  RUN(test_segment_single_scale_parity);
  RUN(test_segment_multi_scale_parity);
  RUN(test_segment_pixel_formats);
  RUN(test_loaded_image);
  RUN(test_embed_parity);
  RUN(test_progress_and_cancel);
  RUN(test_segment_batch_equals_segment);
  RUN(test_moved_from_and_empty);
  RUN(test_release_get_round_trip);
  RUN(test_threads_share_a_model);
#if LSEG_CPP_EXCEPTIONS
  RUN(test_throwing_layer);
#else
  RUN(test_bad_result_without_exceptions);
#endif
  std::printf("%d passed, %d failed\n", t_passed, t_failed);
  return t_failed ? 1 : 0;
}
