/*
 * lseg.hpp: C++17 interface of lseg (native LSeg open-vocabulary segmentation), header only,
 * over the C API in lseg.h (installed next to it) and nothing else.
 *
 * USAGE (exceptions enabled)
 *   #include <lseg.hpp>
 *   lseg::Model model("lseg_vitl16.safetensors");                 // throws lseg::Error
 *   lseg::Labels labels = model.encode_labels({"dog", "grass", "other"});
 *   lseg::LoadedImage image("dog.jpg");                             // or lseg::Image::rgb(px, w, h)
 *   lseg::SegmentOptions opts;
 *   opts.size = 480;
 *   lseg::Segmentation seg = model.segment(labels, image, opts);
 *   // seg.label_map[y * seg.width + x] indexes the labels; seg.confidence is its probability.
 *
 * USAGE (any build, also -fno-exceptions): every call has a non-throwing twin named try_*
 * returning a [[nodiscard]] lseg::Result<T> (a T or an lseg::Error {status, message}).
 *   lseg::Result<lseg::Model> m = lseg::Model::try_load("w.safetensors");
 *   if (!m) { std::fprintf(stderr, "%s: %s\n", m.error().status_name(), m.error().what()); }
 *   lseg::Result<lseg::Labels> l = m.value().try_encode_labels({"dog", "sky"});
 * The throwing calls are the try_* calls followed by Result::value(), which throws the
 * lseg::Error (with exceptions) or, without exceptions, calls the handler set with
 * lseg::set_bad_result_handler() and then std::abort()s: check ok() first.
 *
 * EXCEPTIONS are detected from __cpp_exceptions / __EXCEPTIONS; define LSEG_CPP_NO_EXCEPTIONS
 * to get the non-throwing interface only (the two flavours live in different inline
 * namespaces: each translation unit gets its own, and lseg objects passed between units of
 * different flavours fail to link rather than misbehave). An exception thrown by a progress callback never crosses the C library: it
 * is caught, the call is cancelled, and it is rethrown when the call returns (also from
 * try_* calls, which report lseg's own failures only as Result). With LSEG_CPP_NO_EXCEPTIONS
 * in a build that has exceptions, a throwing callback ends in std::terminate (the C callback
 * is noexcept).
 *
 * THREADS: as lseg.h. A Model and Labels may be used from several threads at once (their
 * methods are const); the error message is captured on the failing thread.
 *
 * OWNERSHIP: Model, Labels and LoadedImage are move-only and own their C handle; get() lends
 * it, release() gives it up (free it with lseg_free / lseg_labels_free / lseg_image_free).
 * A moved-from or default-constructed object holds no handle: its methods return the C
 * API's INVALID_ARGUMENT error ("`model` is NULL"), never crash.
 *
 * BUFFERS: the vector-returning calls size their outputs; the overloads taking an
 * lseg::SegmentOutputs / a pointer write into caller memory (a cv::Mat, a ROS message)
 * without a copy. Sizes as lseg.h: label_map and confidence W*H, scores N*H*W (label-major).
 *
 * Licensed MIT (LICENSE-MIT).
 */
#ifndef LSEG_HPP
#define LSEG_HPP

#include <lseg.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>
#if defined(__has_include)
#if __has_include(<version>)
#include <version>
#endif
#endif
#if defined(__cpp_lib_span)
#include <span>
#endif

#if !defined(LSEG_CPP_NO_EXCEPTIONS) && \
    (defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND))
/** 1 when the throwing interface is available, 0 otherwise (read-only: set LSEG_CPP_NO_EXCEPTIONS). */
#define LSEG_CPP_EXCEPTIONS 1
#define LSEG_CPP_INLINE_NS v1_exceptions
#include <exception>
#else
#define LSEG_CPP_EXCEPTIONS 0
#define LSEG_CPP_INLINE_NS v1_no_exceptions
#endif

namespace lseg {
inline namespace LSEG_CPP_INLINE_NS {

// ---------------------------------------------------------------------------------------------
// Enums (values are the C constants)

/** Status of a call (`lseg_status`). */
enum class Status : int32_t {
  Ok = LSEG_OK,
  InvalidArgument = LSEG_ERR_INVALID_ARGUMENT,
  BufferTooSmall = LSEG_ERR_BUFFER_TOO_SMALL,
  Io = LSEG_ERR_IO,
  InvalidWeights = LSEG_ERR_INVALID_WEIGHTS,
  MissingTensor = LSEG_ERR_MISSING_TENSOR,
  ShapeMismatch = LSEG_ERR_SHAPE_MISMATCH,
  UnsupportedDtype = LSEG_ERR_UNSUPPORTED_DTYPE,
  Config = LSEG_ERR_CONFIG,
  Label = LSEG_ERR_LABEL,
  BackendUnavailable = LSEG_ERR_BACKEND_UNAVAILABLE,
  Tokenizer = LSEG_ERR_TOKENIZER,
  Cancelled = LSEG_ERR_CANCELLED,
  ImageDecode = LSEG_ERR_IMAGE_DECODE,
  Internal = LSEG_ERR_INTERNAL,
};

/** Compute backend (`lseg_backend`). */
enum class Backend : uint32_t {
  Default = LSEG_BACKEND_DEFAULT,
  Flex = LSEG_BACKEND_FLEX,
  Ndarray = LSEG_BACKEND_NDARRAY,
  TchCpu = LSEG_BACKEND_TCH_CPU,
  TchCuda = LSEG_BACKEND_TCH_CUDA,
};

/** Weight/compute dtype or embedding output dtype (`lseg_dtype`). */
enum class DType : uint32_t { F32 = LSEG_DTYPE_F32, F16 = LSEG_DTYPE_F16, BF16 = LSEG_DTYPE_BF16 };

/** Pixel layout of an 8-bit image (`lseg_pixel_format`). */
enum class PixelFormat : uint32_t {
  RGB8 = LSEG_PIXEL_FORMAT_RGB8,
  BGR8 = LSEG_PIXEL_FORMAT_BGR8,
  RGBA8 = LSEG_PIXEL_FORMAT_RGBA8,
  BGRA8 = LSEG_PIXEL_FORMAT_BGRA8,
  GRAY8 = LSEG_PIXEL_FORMAT_GRAY8,
};

/** Evaluation protocol (`lseg_mode`). */
enum class Mode : uint32_t { Single = LSEG_MODE_SINGLE, MultiScale = LSEG_MODE_MULTI_SCALE };

/** Normalisation of pixel embeddings (`lseg_embed_norm`). */
enum class EmbedNorm : uint32_t {
  Raw = LSEG_EMBED_NORM_RAW,
  L2 = LSEG_EMBED_NORM_L2,
  L2Scaled = LSEG_EMBED_NORM_L2_SCALED,
};

/** Grid of pixel embeddings (`lseg_embed_resolution`). */
enum class EmbedResolution : uint32_t {
  Native = LSEG_EMBED_RESOLUTION_NATIVE,
  Input = LSEG_EMBED_RESOLUTION_INPUT,
};

/** Memory layout of pixel embeddings (`lseg_layout`). */
enum class Layout : uint32_t { CHW = LSEG_LAYOUT_CHW, HWC = LSEG_LAYOUT_HWC };

/** Which outputs the vector-returning Model::segment computes (a bit set: combine with |). */
enum class Output : uint32_t { LabelMap = 1, Scores = 2, Confidence = 4, All = 7 };
constexpr Output operator|(Output a, Output b) noexcept {
  return static_cast<Output>(static_cast<uint32_t>(a) | static_cast<uint32_t>(b));
}
/** Whether the sets share a member (a test, hence bool). */
constexpr bool operator&(Output a, Output b) noexcept {
  return (static_cast<uint32_t>(a) & static_cast<uint32_t>(b)) != 0;
}

/** Bytes per pixel of a format (3, 4 or 1; 0 for an unknown value). */
constexpr size_t channels(PixelFormat f) noexcept {
  switch (f) {
    case PixelFormat::RGB8:
    case PixelFormat::BGR8: return 3;
    case PixelFormat::RGBA8:
    case PixelFormat::BGRA8: return 4;
    case PixelFormat::GRAY8: return 1;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Free functions

/** Version of the library, e.g. "0.1.0" (compare with LSEG_VERSION_STRING of the headers). */
inline const char *version() noexcept { return lseg_version(); }
/** Binary-interface version of the library (compare with LSEG_ABI_VERSION). */
inline uint32_t abi_version() noexcept { return lseg_abi_version(); }
/** Name of a status, e.g. "LSEG_ERR_IO". */
inline const char *status_name(Status s) noexcept { return lseg_status_name(static_cast<int32_t>(s)); }
/** Whether a backend is compiled into the library (not whether a CUDA device exists). */
inline bool backend_is_compiled(Backend b) noexcept {
  return lseg_backend_is_compiled(static_cast<uint32_t>(b));
}
/** Number of CUDA devices libtorch sees (0 without the libtorch backend). */
inline uint32_t cuda_device_count() noexcept { return lseg_cuda_device_count(); }
/** The colour {R, G, B} lseg draws label index `label` with (the CLI's pictures, the ROS
 * nodes' colour images): the same for every label set and run. */
inline std::array<uint8_t, 3> label_color(uint32_t label) noexcept {
  std::array<uint8_t, 3> rgb{};
  lseg_label_color(label, rgb.data());  // cannot fail with a buffer
  return rgb;
}

// ---------------------------------------------------------------------------------------------
// Span: std::span where the library has it (C++20), else a minimal equivalent.

#if defined(__cpp_lib_span)
/** A contiguous borrowed range: std::span<T>. */
template <class T>
using Span = std::span<T>;
#else
/** A contiguous borrowed range (the subset of std::span<T> lseg uses; C++17 fallback). */
template <class T>
class Span {
  template <class C>
  using elem_t = std::remove_pointer_t<decltype(std::data(std::declval<C &>()))>;
  template <class C>
  static constexpr bool compatible = std::is_convertible_v<elem_t<C> (*)[], T (*)[]>;

 public:
  using element_type = T;
  using value_type = std::remove_cv_t<T>;
  using size_type = size_t;
  using pointer = T *;
  using iterator = T *;
  constexpr Span() noexcept = default;
  constexpr Span(T *data, size_t size) noexcept : data_(data), size_(size) {}
  /** A container with data() and size() (vector, array, C array, Span). */
  template <class C, class = std::enable_if_t<compatible<C>>>
  constexpr Span(C &&c) noexcept : data_(std::data(c)), size_(std::size(c)) {}
  constexpr T *data() const noexcept { return data_; }
  constexpr size_t size() const noexcept { return size_; }
  constexpr bool empty() const noexcept { return size_ == 0; }
  constexpr T &operator[](size_t i) const noexcept { return data_[i]; }
  constexpr T *begin() const noexcept { return data_; }
  constexpr T *end() const noexcept { return data_ + size_; }

 private:
  T *data_ = nullptr;
  size_t size_ = 0;
};
#endif

// ---------------------------------------------------------------------------------------------
// Errors

/**
 * An lseg failure: the status and the message of lseg_last_error() read right after the
 * failing call (or a message of this header's own checks). Thrown by the throwing calls; the
 * error payload of Result in every build (constructing it throws nothing).
 */
class Error : public std::runtime_error {
 public:
  Error(Status status, const std::string &message) : std::runtime_error(message), status_(status) {}
  /** The status (never Status::Ok for a real failure). */
  Status status() const noexcept { return status_; }
  /** The status's name, e.g. "LSEG_ERR_IO". */
  const char *status_name() const noexcept { return lseg::status_name(status_); }

 private:
  Status status_;
};

/** Called by Result::value() on a failed Result in builds without exceptions. */
using BadResultHandler = void (*)(const Error &error);

namespace detail {
inline std::atomic<BadResultHandler> &bad_result_handler() noexcept {
  static std::atomic<BadResultHandler> handler{nullptr};
  return handler;
}

/** Result::value() of a failure: throw it, or (no exceptions) hook, message, abort. */
[[noreturn]] inline void bad_result(const Error &error) {
#if LSEG_CPP_EXCEPTIONS
  throw error;
#else
  if (BadResultHandler h = bad_result_handler().load()) h(error);
  std::fprintf(stderr, "lseg: value() of a failed lseg::Result: %s: %s\n", error.status_name(),
               error.what());
  std::abort();
#endif
}

inline const Error &no_error() {
  static const Error none(Status::Ok, "");
  return none;
}
}  // namespace detail

/**
 * Sets the function Result::value() calls on a failed Result when exceptions are disabled
 * (before it prints the error and calls std::abort(); it may itself end the program or
 * longjmp). Returns the previous one; nullptr restores the default (print, abort).
 * Unused with exceptions: value() then throws the lseg::Error.
 */
inline BadResultHandler set_bad_result_handler(BadResultHandler handler) noexcept {
  return detail::bad_result_handler().exchange(handler);
}

/**
 * A value or an lseg::Error. Check ok() (or the bool conversion) before value(); value() of
 * a failure throws the Error (exceptions) or calls the bad-result handler and aborts.
 */
template <class T>
class [[nodiscard]] Result {
 public:
  /** A success. */
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  /** A failure. */
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}

  /** Whether it holds a value. */
  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  /** Status::Ok or the error's status. */
  Status status() const noexcept { return ok() ? Status::Ok : std::get_if<1>(&v_)->status(); }
  /** The error (a Status::Ok error with an empty message on success). */
  const Error &error() const noexcept { return ok() ? detail::no_error() : *std::get_if<1>(&v_); }

  /** The value; on a failure throws the Error or (no exceptions) handler + abort. */
  T &value() & { return *checked(); }
  const T &value() const & { return *checked(); }
  T &&value() && { return std::move(*checked()); }
  T &operator*() & { return value(); }
  const T &operator*() const & { return value(); }
  T &&operator*() && { return std::move(*checked()); }
  T *operator->() { return checked(); }
  const T *operator->() const { return checked(); }

 private:
  T *checked() {
    if (!ok()) detail::bad_result(*std::get_if<1>(&v_));
    return std::get_if<0>(&v_);
  }
  const T *checked() const {
    if (!ok()) detail::bad_result(*std::get_if<1>(&v_));
    return std::get_if<0>(&v_);
  }
  std::variant<T, Error> v_;
};

/** Success or an lseg::Error. */
template <>
class [[nodiscard]] Result<void> {
 public:
  /** A success. */
  Result() noexcept = default;
  /** A failure. */
  Result(Error error) : error_(std::move(error)) {}

  bool ok() const noexcept { return !error_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }
  Status status() const noexcept { return error_ ? error_->status() : Status::Ok; }
  const Error &error() const noexcept { return error_ ? *error_ : detail::no_error(); }
  /** Nothing on success; on a failure throws the Error or (no exceptions) handler + abort. */
  void value() const {
    if (error_) detail::bad_result(*error_);
  }

 private:
  std::optional<Error> error_;
};

namespace detail {
/** The one place a C status becomes a Result: the message is read right after the call. */
inline Result<void> check(lseg_status status) {
  if (status == LSEG_OK) return {};
  return Error(static_cast<Status>(status), lseg_last_error());
}

inline bool has_nul(std::string_view s) noexcept { return s.find('\0') != std::string_view::npos; }

struct ModelDeleter {
  void operator()(lseg_model *m) const noexcept { lseg_free(m); }
};
struct LabelsDeleter {
  void operator()(lseg_labels *l) const noexcept { lseg_labels_free(l); }
};
}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Options (defaults are the C *_default() values; a test checks that they agree)

/** Model loading options (`lseg_model_params` without the weights source). */
struct ModelOptions {
  Backend backend = Backend::Default;
  /** CUDA device for Backend::TchCuda; must be 0 otherwise. */
  uint32_t device_index = 0;
  /** Weight and compute dtype. */
  DType dtype = DType::F32;
  /** CPU threads, 0 = all cores (process-wide, fixed at the first use). */
  uint32_t threads = 0;
  /** Model configuration as JSON; empty = from the file's metadata or inferred. */
  std::string config_json;
};

/** Progress/abort callback: `done` of `total` network passes; return false to cancel. */
using ProgressFn = std::function<bool(size_t done, size_t total)>;

/** Segmentation options (`lseg_segment_params`). */
struct SegmentOptions {
  Mode mode = Mode::Single;
  /** Single-scale: long side the image is resized to; 0 = input size. */
  uint32_t size = 480;
  /** Multi-scale: long side at scale 1.0. */
  uint32_t base_size = 520;
  /** Multi-scale: sliding-window size, a multiple of 32. */
  uint32_t crop_size = 480;
  /** Multi-scale: add the horizontally flipped pass. */
  bool flip = true;
  /** Multi-scale: scales; empty = the official {0.5, 0.75, 1.0, 1.25, 1.5, 1.75}. */
  std::vector<double> scales;
  /** Optional progress/abort callback, called on the calling thread. */
  ProgressFn progress;
};

/** Pixel-embedding options (`lseg_embed_params`). */
struct EmbedOptions {
  /** Long side the image is resized to; 0 = input size. */
  uint32_t size = 480;
  EmbedNorm norm = EmbedNorm::L2;
  EmbedResolution resolution = EmbedResolution::Native;
  /** Output element type: F32 or F16. */
  DType dtype = DType::F32;
  Layout layout = Layout::CHW;
};

namespace detail {
inline lseg_segment_params to_c(const SegmentOptions &o) noexcept {
  lseg_segment_params p = lseg_segment_params_default();
  p.mode = static_cast<uint32_t>(o.mode);
  p.size = o.size;
  p.base_size = o.base_size;
  p.crop_size = o.crop_size;
  p.flip = o.flip ? 1u : 0u;
  p.scales = o.scales.empty() ? nullptr : o.scales.data();
  p.n_scales = o.scales.size();
  return p;
}

inline lseg_embed_params to_c(const EmbedOptions &o) noexcept {
  lseg_embed_params p = lseg_embed_params_default();
  p.size = o.size;
  p.norm = static_cast<uint32_t>(o.norm);
  p.resolution = static_cast<uint32_t>(o.resolution);
  p.dtype = static_cast<uint32_t>(o.dtype);
  p.layout = static_cast<uint32_t>(o.layout);
  return p;
}

/** user_data of the progress trampoline. */
struct Progress {
  const ProgressFn *fn = nullptr;
#if LSEG_CPP_EXCEPTIONS
  std::exception_ptr exception;
#endif
};

/** The C callback: calls the std::function; an exception is kept and cancels the call. */
inline bool progress_trampoline(size_t done, size_t total, void *user_data) noexcept {
  Progress *p = static_cast<Progress *>(user_data);
#if LSEG_CPP_EXCEPTIONS
  try {
    return (*p->fn)(done, total);
  } catch (...) {
    p->exception = std::current_exception();
    return false;
  }
#else
  return (*p->fn)(done, total);
#endif
}
}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Images

/**
 * A borrowed 8-bit image (`lseg_image`): `height` rows `stride` bytes apart, each starting
 * with `width` pixels; stride 0 means tightly packed. Never written by lseg.
 */
struct Image {
  const uint8_t *data = nullptr;
  uint32_t width = 0;
  uint32_t height = 0;
  size_t stride = 0;
  PixelFormat format = PixelFormat::RGB8;

  /** An image of any format; stride 0 = packed (width * channels(format)). */
  static constexpr Image view(const uint8_t *data, uint32_t width, uint32_t height,
                              PixelFormat format, size_t stride = 0) noexcept {
    return Image{data, width, height, stride ? stride : width * channels(format), format};
  }
  static constexpr Image rgb(const uint8_t *d, uint32_t w, uint32_t h, size_t stride = 0) noexcept {
    return view(d, w, h, PixelFormat::RGB8, stride);
  }
  static constexpr Image bgr(const uint8_t *d, uint32_t w, uint32_t h, size_t stride = 0) noexcept {
    return view(d, w, h, PixelFormat::BGR8, stride);
  }
  static constexpr Image rgba(const uint8_t *d, uint32_t w, uint32_t h, size_t stride = 0) noexcept {
    return view(d, w, h, PixelFormat::RGBA8, stride);
  }
  static constexpr Image bgra(const uint8_t *d, uint32_t w, uint32_t h, size_t stride = 0) noexcept {
    return view(d, w, h, PixelFormat::BGRA8, stride);
  }
  static constexpr Image gray(const uint8_t *d, uint32_t w, uint32_t h, size_t stride = 0) noexcept {
    return view(d, w, h, PixelFormat::GRAY8, stride);
  }
  /** The C descriptor. */
  lseg_image to_c() const noexcept {
    lseg_image img;
    img.data = data;
    img.width = width;
    img.height = height;
    img.stride = stride;
    img.format = static_cast<uint32_t>(format);
    return img;
  }
};

/** A decoded PNG/JPEG file (pixels owned by lseg, `lseg_image_load`); move-only. */
class LoadedImage {
 public:
  LoadedImage() noexcept : img_(empty()) {}
  /** Adopts a descriptor made by lseg_image_load. */
  explicit LoadedImage(const lseg_image &adopt) noexcept : img_(adopt) {}
  LoadedImage(LoadedImage &&o) noexcept : img_(o.img_) { o.img_ = empty(); }
  LoadedImage &operator=(LoadedImage &&o) noexcept {
    if (this != &o) {
      lseg_image_free(&img_);
      img_ = o.img_;
      o.img_ = empty();
    }
    return *this;
  }
  LoadedImage(const LoadedImage &) = delete;
  LoadedImage &operator=(const LoadedImage &) = delete;
  ~LoadedImage() { lseg_image_free(&img_); }

  /** Decodes `path` into a packed image of `format`. */
  static Result<LoadedImage> try_load(const std::string &path, PixelFormat format = PixelFormat::RGB8) {
    if (detail::has_nul(path)) return Error(Status::InvalidArgument, "`path` contains a NUL byte");
    lseg_image img = empty();
    Result<void> r = detail::check(lseg_image_load(path.c_str(), static_cast<uint32_t>(format), &img));
    if (!r) return r.error();
    return LoadedImage(img);
  }
#if LSEG_CPP_EXCEPTIONS
  /** Decodes `path` (throws lseg::Error). */
  explicit LoadedImage(const std::string &path, PixelFormat format = PixelFormat::RGB8)
      : LoadedImage(try_load(path, format).value()) {}
#endif

  /** The pixels as a borrowed view (valid while this object lives). */
  Image view() const noexcept {
    return Image{img_.data, img_.width, img_.height, img_.stride, static_cast<PixelFormat>(img_.format)};
  }
  operator Image() const noexcept { return view(); }
  const uint8_t *data() const noexcept { return img_.data; }
  uint32_t width() const noexcept { return img_.width; }
  uint32_t height() const noexcept { return img_.height; }
  size_t stride() const noexcept { return img_.stride; }
  PixelFormat format() const noexcept { return static_cast<PixelFormat>(img_.format); }
  explicit operator bool() const noexcept { return img_.data != nullptr; }
  /** The C descriptor (still owned by this object). */
  const lseg_image &get() const noexcept { return img_; }
  /** Gives up the pixels: release them with lseg_image_free. */
  [[nodiscard]] lseg_image release() noexcept {
    lseg_image img = img_;
    img_ = empty();
    return img;
  }

 private:
  static lseg_image empty() noexcept { return lseg_image{nullptr, 0, 0, 0, 0}; }
  lseg_image img_;
};

// ---------------------------------------------------------------------------------------------
// Labels

/** An encoded label set (`lseg_labels`), usable with the model that encoded it; move-only. */
class Labels {
 public:
  Labels() noexcept = default;
  /** Adopts a handle from lseg_encode_labels. */
  explicit Labels(lseg_labels *adopt) noexcept : h_(adopt) {}

  /** The C handle (still owned). */
  lseg_labels *get() const noexcept { return h_.get(); }
  /** Gives up the handle: free it with lseg_labels_free. */
  [[nodiscard]] lseg_labels *release() noexcept { return h_.release(); }
  explicit operator bool() const noexcept { return h_ != nullptr; }
  /** Number of labels (0 without a handle). */
  size_t size() const noexcept { return lseg_labels_count(h_.get()); }
  /** Embedding dimension (0 without a handle). */
  size_t dim() const noexcept { return lseg_labels_dim(h_.get()); }

  /** Writes the L2-normalised text embeddings, row-major size() x dim(), into `out`. */
  Result<void> try_embeddings(Span<float> out) const {
    return detail::check(lseg_labels_embeddings(h_.get(), out.data(), out.size()));
  }
  /** The L2-normalised text embeddings, row-major size() x dim(). */
  Result<std::vector<float>> try_embeddings() const {
    std::vector<float> out(size() * dim());
    Result<void> r = try_embeddings(Span<float>(out.data(), out.size()));
    if (!r) return r.error();
    return Result<std::vector<float>>(std::move(out));
  }
#if LSEG_CPP_EXCEPTIONS
  void embeddings(Span<float> out) const { try_embeddings(out).value(); }
  [[nodiscard]] std::vector<float> embeddings() const { return try_embeddings().value(); }
#endif

 private:
  std::unique_ptr<lseg_labels, detail::LabelsDeleter> h_;
};

// ---------------------------------------------------------------------------------------------
// Outputs

/**
 * Caller buffers of Model::segment (`lseg_segment_outputs`). An empty span is not computed;
 * at least one must be given. label_map/confidence: width*height, scores: N*height*width.
 */
struct SegmentOutputs {
  Span<uint16_t> label_map;
  Span<float> scores;
  Span<float> confidence;
};

/** Result of the vector-returning Model::segment (outputs not asked for are empty). */
struct Segmentation {
  uint32_t width = 0;
  uint32_t height = 0;
  /** Number of labels. */
  size_t count = 0;
  /** Label index per pixel, row-major width*height. */
  std::vector<uint16_t> label_map;
  /** Per-label logits, label-major count*height*width (only with Output::Scores). */
  std::vector<float> scores;
  /** Softmax probability of the chosen label per pixel, width*height. */
  std::vector<float> confidence;
};

namespace detail {
/** A Segmentation of `image` with the outputs in `want` allocated (nothing for a size lseg
 * refuses: lseg then reports the image's error). */
inline Segmentation sized_segmentation(const Image &image, size_t count, Output want) {
  Segmentation s;
  s.width = image.width;
  s.height = image.height;
  s.count = count;
  const bool sane = image.width >= 1 && image.width <= LSEG_MAX_IMAGE_SIDE && image.height >= 1 &&
                    image.height <= LSEG_MAX_IMAGE_SIDE;
  const size_t pixels = sane ? size_t{image.width} * image.height : 0;
  if (want & Output::LabelMap) s.label_map.resize(pixels);
  if (want & Output::Scores) s.scores.resize(pixels * count);
  if (want & Output::Confidence) s.confidence.resize(pixels);
  return s;
}

/** The C outputs of caller buffers (an empty span: not computed). */
inline lseg_segment_outputs to_c(const SegmentOutputs &outputs) noexcept {
  lseg_segment_outputs o = lseg_segment_outputs_default();
  if (!outputs.label_map.empty()) {
    o.label_map = outputs.label_map.data();
    o.label_map_len = outputs.label_map.size();
  }
  if (!outputs.scores.empty()) {
    o.scores = outputs.scores.data();
    o.scores_len = outputs.scores.size();
  }
  if (!outputs.confidence.empty()) {
    o.confidence = outputs.confidence.data();
    o.confidence_len = outputs.confidence.size();
  }
  return o;
}
}  // namespace detail

/** Shape of Model::embed's output (`lseg_embed_shape`). */
struct EmbedShape {
  size_t dim = 0;
  size_t height = 0;
  size_t width = 0;
  size_t bytes = 0;
};

/** Dense pixel embeddings: `f32` (DType::F32) or `f16` (DType::F16, IEEE half bits) filled. */
struct Embedding {
  size_t dim = 0;
  size_t height = 0;
  size_t width = 0;
  Layout layout = Layout::CHW;
  DType dtype = DType::F32;
  std::vector<float> f32;
  std::vector<uint16_t> f16;
};

// ---------------------------------------------------------------------------------------------
// Model

/** A loaded model (`lseg_model`); move-only, shareable between threads (const methods). */
class Model {
 public:
  Model() noexcept = default;
  /** Adopts a handle from lseg_create. */
  explicit Model(lseg_model *adopt) noexcept : h_(adopt) {}

  /** Loads a .safetensors file (kept memory-mapped while the model lives). */
  static Result<Model> try_load(const std::string &path, const ModelOptions &options = {}) {
    if (detail::has_nul(path)) return Error(Status::InvalidArgument, "`weights_path` contains a NUL byte");
    return create(path.c_str(), nullptr, 0, options);
  }
  /** Loads a safetensors image in memory (only read during the call). */
  static Result<Model> try_load_memory(const void *data, size_t size, const ModelOptions &options = {}) {
    return create(nullptr, data, size, options);
  }
#if LSEG_CPP_EXCEPTIONS
  /** Loads a .safetensors file (throws lseg::Error). */
  explicit Model(const std::string &path, const ModelOptions &options = {})
      : Model(try_load(path, options).value()) {}
  [[nodiscard]] static Model load(const std::string &path, const ModelOptions &options = {}) {
    return try_load(path, options).value();
  }
  [[nodiscard]] static Model load_memory(const void *data, size_t size, const ModelOptions &options = {}) {
    return try_load_memory(data, size, options).value();
  }
#endif

  /** The C handle (still owned). */
  lseg_model *get() const noexcept { return h_.get(); }
  /** Gives up the handle: free it with lseg_free. */
  [[nodiscard]] lseg_model *release() noexcept { return h_.release(); }
  explicit operator bool() const noexcept { return h_ != nullptr; }
  /** Pixel-embedding dimension (512 for the released weights; 0 without a handle). */
  size_t embed_dim() const noexcept { return lseg_model_embed_dim(h_.get()); }

  /**
   * Encodes UTF-8 labels once for any number of segment() calls with this model. `truncate`
   * cuts labels over 77 tokens instead of failing. A label with a NUL byte is Status::Label.
   */
  Result<Labels> try_encode_labels(Span<const char *const> labels, bool truncate = false) const {
    lseg_labels *out = nullptr;
    Result<void> r = detail::check(lseg_encode_labels_ex(
        h_.get(), labels.data(), labels.size(), truncate ? static_cast<uint32_t>(LSEG_LABELS_TRUNCATE) : 0u, &out));
    if (!r) return r.error();
    return Labels(out);
  }
  Result<Labels> try_encode_labels(Span<const std::string_view> labels, bool truncate = false) const {
    std::vector<std::string> copies(labels.begin(), labels.end());  // NUL-terminated
    return encode_strings(copies, truncate);
  }
  Result<Labels> try_encode_labels(std::initializer_list<std::string_view> labels, bool truncate = false) const {
    return try_encode_labels(Span<const std::string_view>(labels.begin(), labels.size()), truncate);
  }
  Result<Labels> try_encode_labels(const std::vector<std::string> &labels, bool truncate = false) const {
    return encode_strings(labels, truncate);
  }

  /**
   * Segments `image` into caller buffers (see SegmentOutputs); written only on success.
   * An exception thrown by options.progress cancels the call and is rethrown after it.
   */
  Result<void> try_segment(const Labels &labels, const Image &image, const SegmentOutputs &outputs,
                           const SegmentOptions &options = {}) const {
    lseg_segment_params p = detail::to_c(options);
    detail::Progress progress;
    progress.fn = &options.progress;
    if (options.progress) {
      p.progress = &detail::progress_trampoline;
      p.user_data = &progress;
    }
    lseg_segment_outputs o = detail::to_c(outputs);
    lseg_image img = image.to_c();
    Result<void> r = detail::check(lseg_segment(h_.get(), labels.get(), &img, &p, &o));
#if LSEG_CPP_EXCEPTIONS
    if (progress.exception) std::rethrow_exception(progress.exception);
#endif
    return r;
  }
  /** Segments `image`, computing the outputs in `want` (default: label map and confidence). */
  Result<Segmentation> try_segment(const Labels &labels, const Image &image,
                                   const SegmentOptions &options = {},
                                   Output want = Output::LabelMap | Output::Confidence) const {
    Segmentation s = detail::sized_segmentation(image, labels.size(), want);
    Result<void> r = try_segment(labels, image, SegmentOutputs{s.label_map, s.scores, s.confidence}, options);
    if (!r) return r.error();
    return Result<Segmentation>(std::move(s));
  }
  /**
   * Segments several images (of any sizes) in one call (`lseg_segment_batch`): single-scale
   * images of the same network size run together. Each result is try_segment's for that
   * image; on an error nothing is returned.
   */
  Result<std::vector<Segmentation>> try_segment_batch(const Labels &labels, Span<const Image> images,
                                                      const SegmentOptions &options = {},
                                                      Output want = Output::LabelMap | Output::Confidence) const {
    lseg_segment_params p = detail::to_c(options);
    detail::Progress progress;
    progress.fn = &options.progress;
    if (options.progress) {
      p.progress = &detail::progress_trampoline;
      p.user_data = &progress;
    }
    std::vector<Segmentation> segs;
    std::vector<lseg_segment_outputs> outs;
    std::vector<lseg_image> imgs;
    segs.reserve(images.size());
    outs.reserve(images.size());
    imgs.reserve(images.size());
    for (size_t i = 0; i < images.size(); ++i) {
      const Image &image = images.data()[i];
      segs.push_back(detail::sized_segmentation(image, labels.size(), want));
      Segmentation &s = segs.back();
      outs.push_back(detail::to_c(SegmentOutputs{s.label_map, s.scores, s.confidence}));
      imgs.push_back(image.to_c());
    }
    Result<void> r = detail::check(
        lseg_segment_batch(h_.get(), labels.get(), imgs.data(), imgs.size(), &p, outs.data()));
#if LSEG_CPP_EXCEPTIONS
    if (progress.exception) std::rethrow_exception(progress.exception);
#endif
    if (!r) return r.error();
    return Result<std::vector<Segmentation>>(std::move(segs));
  }
#if LSEG_CPP_EXCEPTIONS
  void segment(const Labels &labels, const Image &image, const SegmentOutputs &outputs,
               const SegmentOptions &options = {}) const {
    try_segment(labels, image, outputs, options).value();
  }
  [[nodiscard]] Segmentation segment(const Labels &labels, const Image &image, const SegmentOptions &options = {},
                                     Output want = Output::LabelMap | Output::Confidence) const {
    return try_segment(labels, image, options, want).value();
  }
  [[nodiscard]] std::vector<Segmentation> segment_batch(const Labels &labels, Span<const Image> images,
                                                       const SegmentOptions &options = {},
                                                       Output want = Output::LabelMap | Output::Confidence) const {
    return try_segment_batch(labels, images, options, want).value();
  }
  [[nodiscard]] Labels encode_labels(Span<const char *const> labels, bool truncate = false) const {
    return try_encode_labels(labels, truncate).value();
  }
  [[nodiscard]] Labels encode_labels(Span<const std::string_view> labels, bool truncate = false) const {
    return try_encode_labels(labels, truncate).value();
  }
  [[nodiscard]] Labels encode_labels(std::initializer_list<std::string_view> labels, bool truncate = false) const {
    return try_encode_labels(labels, truncate).value();
  }
  [[nodiscard]] Labels encode_labels(const std::vector<std::string> &labels, bool truncate = false) const {
    return try_encode_labels(labels, truncate).value();
  }
#endif

  /** Shape and byte size of embed()'s output for a width x height image. */
  Result<EmbedShape> try_embed_shape(uint32_t width, uint32_t height, const EmbedOptions &options = {}) const {
    lseg_embed_params p = detail::to_c(options);
    EmbedShape s;
    Result<void> r = detail::check(
        lseg_embed_shape(h_.get(), width, height, &p, &s.dim, &s.height, &s.width, &s.bytes));
    if (!r) return r.error();
    return s;
  }
  /** Dense pixel embeddings into `out` (`bytes` bytes, at least embed_shape().bytes). */
  Result<void> try_embed(const Image &image, void *out, size_t bytes, const EmbedOptions &options = {}) const {
    lseg_embed_params p = detail::to_c(options);
    lseg_image img = image.to_c();
    return detail::check(lseg_embed(h_.get(), &img, &p, out, bytes));
  }
  /** Dense pixel embeddings, sized by embed_shape(). */
  Result<Embedding> try_embed(const Image &image, const EmbedOptions &options = {}) const {
    Result<EmbedShape> shape = try_embed_shape(image.width, image.height, options);
    if (!shape) return shape.error();
    Embedding e;
    e.dim = shape->dim;
    e.height = shape->height;
    e.width = shape->width;
    e.layout = options.layout;
    e.dtype = options.dtype;
    void *out;
    if (options.dtype == DType::F16) {
      e.f16.resize((shape->bytes + 1) / 2);
      out = e.f16.data();
    } else {
      e.f32.resize((shape->bytes + 3) / 4);
      out = e.f32.data();
    }
    Result<void> r = try_embed(image, out, shape->bytes, options);
    if (!r) return r.error();
    return Result<Embedding>(std::move(e));
  }
#if LSEG_CPP_EXCEPTIONS
  [[nodiscard]] EmbedShape embed_shape(uint32_t width, uint32_t height, const EmbedOptions &options = {}) const {
    return try_embed_shape(width, height, options).value();
  }
  void embed(const Image &image, void *out, size_t bytes, const EmbedOptions &options = {}) const {
    try_embed(image, out, bytes, options).value();
  }
  [[nodiscard]] Embedding embed(const Image &image, const EmbedOptions &options = {}) const {
    return try_embed(image, options).value();
  }
#endif

 private:
  static Result<Model> create(const char *path, const void *data, size_t size, const ModelOptions &o) {
    if (detail::has_nul(o.config_json)) return Error(Status::InvalidArgument, "`config_json` contains a NUL byte");
    lseg_model_params p = lseg_model_params_default();
    p.backend = static_cast<uint32_t>(o.backend);
    p.device_index = o.device_index;
    p.dtype = static_cast<uint32_t>(o.dtype);
    p.n_threads = o.threads;
    p.weights_path = path;
    p.weights_data = data;
    p.weights_size = size;
    p.config_json = o.config_json.empty() ? nullptr : o.config_json.c_str();
    lseg_model *m = nullptr;
    Result<void> r = detail::check(lseg_create(&p, &m));
    if (!r) return r.error();
    return Model(m);
  }
  Result<Labels> encode_strings(const std::vector<std::string> &labels, bool truncate) const {
    std::vector<const char *> ptrs;
    ptrs.reserve(labels.size());
    for (size_t i = 0; i < labels.size(); i++) {
      if (detail::has_nul(labels[i]))
        return Error(Status::Label, "invalid label: label " + std::to_string(i) + " contains a NUL byte");
      ptrs.push_back(labels[i].c_str());
    }
    return try_encode_labels(Span<const char *const>(ptrs.data(), ptrs.size()), truncate);
  }

  std::unique_ptr<lseg_model, detail::ModelDeleter> h_;
};

}  // inline namespace LSEG_CPP_INLINE_NS
}  // namespace lseg

#endif  // LSEG_HPP
