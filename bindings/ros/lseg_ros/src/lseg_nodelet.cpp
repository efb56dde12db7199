// lseg_ros/LsegNodelet: segments `image` with a run-time label set. Inference runs on a worker
// thread over the newest frame (frames arriving meanwhile replace the pending one); labels
// are re-encoded off the image thread and swapped atomically between frames.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include <diagnostic_updater/diagnostic_updater.h>
#include <image_transport/image_transport.h>
#include <nodelet/nodelet.h>
#include <pluginlib/class_list_macros.hpp>
#include <ros/ros.h>
#include <sensor_msgs/Image.h>
#include <sensor_msgs/image_encodings.h>
#include <std_msgs/String.h>

#include "lseg_ros/SetLabels.h"
#include "lseg_ros/segmenter.h"

namespace lseg_ros {

/// One encoded label set and its colours; immutable once published to the worker.
struct LabelSet {
  lseg::Labels labels;
  std::vector<std::string> names;
  uint32_t version;
  std::vector<Rgb> palette;
};

/// An output image with the input's header and size: `encoding`, `bpp` bytes per pixel, data
/// sized.
static sensor_msgs::Image output_like(const sensor_msgs::Image &in, const std::string &encoding, size_t bpp) {
  sensor_msgs::Image out;
  out.header = in.header;
  out.width = in.width;
  out.height = in.height;
  out.encoding = encoding;
  out.step = uint32_t(in.width * bpp);
  out.data.resize(size_t{out.step} * in.height);
  return out;
}

/// A 32FC1 image of one float plane (width * height values) with the input's header.
static sensor_msgs::Image float_image(const sensor_msgs::Image &in, const float *plane) {
  sensor_msgs::Image out = output_like(in, sensor_msgs::image_encodings::TYPE_32FC1, 4);
  std::memcpy(out.data.data(), plane, out.data.size());
  return out;
}

class LsegNodelet : public nodelet::Nodelet {
 public:
  ~LsegNodelet() override { stop(); }

 private:
  void onInit() override;
  void on_image(const sensor_msgs::ImageConstPtr &msg);
  void work();
  void process(const sensor_msgs::Image &msg, const LabelSet &set);
  bool set_labels(const std::vector<std::string> &names, std::string &error);
  bool on_set_labels(SetLabels::Request &req, SetLabels::Response &res);
  void poll_labels_param(const ros::TimerEvent &);
  std::vector<std::string> labels_param();
  void report(const ros::TimerEvent &);
  void diagnose(diagnostic_updater::DiagnosticStatusWrapper &stat);
  void stop();

  ros::NodeHandle pnh_;
  lseg::Model model_;
  lseg::SegmentOptions seg_opts_;
  std::vector<std::string> palette_param_;
  float alpha_ = 0.5f;
  double min_period_ = 0.0;

  std::mutex labels_mutex_;  // serialises encoding and version bumps
  std::shared_ptr<const LabelSet> labels_;
  std::vector<std::string> last_param_;
  uint32_t version_ = 0;

  std::mutex frame_mutex_;
  std::condition_variable frame_cv_;
  sensor_msgs::ImageConstPtr pending_;
  bool stopping_ = false;
  std::thread worker_;

  std::unique_ptr<image_transport::ImageTransport> it_;
  image_transport::Subscriber sub_;
  image_transport::Publisher mask_pub_, color_pub_, overlay_pub_;
  ros::Publisher confidence_pub_, label_info_pub_;
  bool publish_scores_ = false;
  std::vector<ros::Publisher> score_pubs_;  // ~scores/<k>, worker thread only
  ros::ServiceServer set_labels_srv_;
  ros::Timer param_timer_, report_timer_;
  std::unique_ptr<diagnostic_updater::Updater> diag_;

  // Statistics (worker writes, timers read).
  std::atomic<uint64_t> received_{0}, processed_{0}, dropped_{0}, rejected_{0};
  std::mutex stats_mutex_;
  double lat_sum_ = 0, lat_max_ = 0;
  uint64_t lat_n_ = 0;
  ros::Time last_processed_;
  std::string last_error_;
};

void LsegNodelet::onInit() {
  pnh_ = getPrivateNodeHandle();
  std::string weights, backend, dtype, mode;
  int size = 480, threads = 0;
  pnh_.param<std::string>("weights", weights, "");
  pnh_.param<std::string>("backend", backend, "default");
  pnh_.param<std::string>("dtype", dtype, "f32");
  pnh_.param<std::string>("mode", mode, "single");
  pnh_.param("size", size, 480);
  pnh_.param("threads", threads, 0);
  pnh_.param("min_period", min_period_, 0.0);
  pnh_.param("overlay_alpha", alpha_, 0.5f);
  pnh_.param("palette", palette_param_, std::vector<std::string>{});
  pnh_.param("publish_scores", publish_scores_, false);

  lseg::ModelOptions mo;
  if (backend == "flex") mo.backend = lseg::Backend::Flex;
  else if (backend == "ndarray") mo.backend = lseg::Backend::Ndarray;
  else if (backend == "tch") mo.backend = lseg::Backend::TchCpu;
  else if (backend.rfind("cuda", 0) == 0) {
    mo.backend = lseg::Backend::TchCuda;
    mo.device_index = backend.size() > 5 ? uint32_t(std::stoul(backend.substr(5))) : 0;
  } else if (backend != "default") {
    NODELET_FATAL("~backend is \"%s\": expected default, flex, ndarray, tch, cuda or cuda:N", backend.c_str());
    throw std::runtime_error("bad ~backend");
  }
  if (dtype == "f16") mo.dtype = lseg::DType::F16;
  else if (dtype == "bf16") mo.dtype = lseg::DType::BF16;
  else if (dtype != "f32") {
    NODELET_FATAL("~dtype is \"%s\": expected f32, f16 or bf16", dtype.c_str());
    throw std::runtime_error("bad ~dtype");
  }
  mo.threads = uint32_t(std::max(threads, 0));
  if (mode == "multiscale") seg_opts_.mode = lseg::Mode::MultiScale;
  else if (mode != "single") {
    NODELET_FATAL("~mode is \"%s\": expected single or multiscale", mode.c_str());
    throw std::runtime_error("bad ~mode");
  }
  seg_opts_.size = uint32_t(std::max(size, 0));

  auto m = lseg::Model::try_load(weights, mo);
  if (!m) {
    NODELET_FATAL("cannot load ~weights \"%s\": %s", weights.c_str(), m.error().what());
    throw std::runtime_error(m.error().what());
  }
  model_ = std::move(m.value());

  label_info_pub_ = pnh_.advertise<std_msgs::String>("label_info", 1, /*latch=*/true);
  std::string error;
  last_param_ = labels_param();
  if (!set_labels(last_param_, error)) {
    NODELET_FATAL("~labels: %s", error.c_str());
    throw std::runtime_error(error);
  }

  it_ = std::make_unique<image_transport::ImageTransport>(pnh_);
  mask_pub_ = it_->advertise("mask", 1);
  color_pub_ = it_->advertise("color", 1);
  overlay_pub_ = it_->advertise("overlay", 1);
  confidence_pub_ = pnh_.advertise<sensor_msgs::Image>("confidence", 1);
  set_labels_srv_ = pnh_.advertiseService("set_labels", &LsegNodelet::on_set_labels, this);
  param_timer_ = pnh_.createTimer(ros::Duration(0.25), &LsegNodelet::poll_labels_param, this);
  report_timer_ = pnh_.createTimer(ros::Duration(10.0), &LsegNodelet::report, this);
  diag_ = std::make_unique<diagnostic_updater::Updater>(getNodeHandle(), pnh_);
  diag_->setHardwareID("lseg");
  diag_->add("segmentation", this, &LsegNodelet::diagnose);

  worker_ = std::thread(&LsegNodelet::work, this);
  sub_ = it_->subscribe("image", 1, &LsegNodelet::on_image, this);
  NODELET_INFO("lseg %s: %s, %zu labels, mode %s, size %d; subscribed to %s", lseg::version(),
               weights.c_str(), labels_->names.size(), mode.c_str(), size, sub_.getTopic().c_str());
}

std::vector<std::string> LsegNodelet::labels_param() {
  std::vector<std::string> list;
  if (pnh_.getParam("labels", list)) return list;
  std::string s;
  if (pnh_.getParam("labels", s)) return split_labels(s);
  return {"other"};
}

bool LsegNodelet::set_labels(const std::vector<std::string> &names, std::string &error) {
  std::lock_guard<std::mutex> lock(labels_mutex_);
  auto labels = model_.try_encode_labels(names);
  if (!labels) {
    error = labels.error().what();
    return false;
  }
  std::vector<Rgb> pal;
  try {
    pal = palette(names.size(), palette_param_);
  } catch (const std::exception &e) {
    NODELET_ERROR("~palette: %s (using the fixed palette)", e.what());
    pal = palette(names.size(), {});
  }
  auto set = std::make_shared<const LabelSet>(LabelSet{std::move(labels.value()), names, ++version_, std::move(pal)});
  std::atomic_store(&labels_, set);
  std_msgs::String info;
  info.data = label_info_json(set->version, names);
  label_info_pub_.publish(info);
  pnh_.setParam("label_names", names);
  pnh_.setParam("label_version", int(set->version));
  return true;
}

bool LsegNodelet::on_set_labels(SetLabels::Request &req, SetLabels::Response &res) {
  std::string error;
  res.success = set_labels(req.labels, error);
  res.message = res.success ? "ok" : error;
  res.version = std::atomic_load(&labels_)->version;
  if (!res.success) NODELET_ERROR("set_labels: %s", error.c_str());
  return true;
}

void LsegNodelet::poll_labels_param(const ros::TimerEvent &) {
  std::vector<std::string> now = labels_param();
  if (now == last_param_) return;
  last_param_ = now;
  std::string error;
  if (!set_labels(now, error)) NODELET_ERROR("~labels: %s (keeping the previous labels)", error.c_str());
}

void LsegNodelet::on_image(const sensor_msgs::ImageConstPtr &msg) {
  ++received_;
  std::lock_guard<std::mutex> lock(frame_mutex_);
  if (pending_) ++dropped_;  // newest frame wins
  pending_ = msg;
  frame_cv_.notify_one();
}

void LsegNodelet::work() {
  for (;;) {
    sensor_msgs::ImageConstPtr msg;
    {
      std::unique_lock<std::mutex> lock(frame_mutex_);
      frame_cv_.wait(lock, [&] { return stopping_ || pending_; });
      if (stopping_) return;
      msg = std::move(pending_);
      pending_.reset();
    }
    if (min_period_ > 0 && !last_processed_.isZero() &&
        (ros::Time::now() - last_processed_).toSec() < min_period_) {
      ++dropped_;
      continue;
    }
    std::shared_ptr<const LabelSet> set = std::atomic_load(&labels_);
    process(*msg, *set);
  }
}

void LsegNodelet::process(const sensor_msgs::Image &msg, const LabelSet &set) {
  const auto t0 = std::chrono::steady_clock::now();
  auto fmt = pixel_format(msg.encoding);
  auto reject = [&](const std::string &why) {
    ++rejected_;
    {
      std::lock_guard<std::mutex> lock(stats_mutex_);
      last_error_ = why;
    }
    NODELET_ERROR_THROTTLE(1.0, "dropping a frame: %s", why.c_str());
  };
  if (!fmt) {
    reject("encoding \"" + msg.encoding + "\" is not one of rgb8, bgr8, rgba8, bgra8, mono8");
    return;
  }
  // The buffer length is not part of lseg's image descriptor: checked here; the step against
  // the width is lseg's rule.
  if (msg.data.size() < size_t{msg.step} * msg.height) {
    reject("data holds " + std::to_string(msg.data.size()) + " bytes, step " + std::to_string(msg.step) +
           " x height " + std::to_string(msg.height) + " needs more");
    return;
  }
  const lseg::Image img = lseg::Image::view(msg.data.data(), msg.width, msg.height, *fmt, msg.step);
  const bool want_conf = confidence_pub_.getNumSubscribers() > 0;
  bool want_scores = false;
  if (publish_scores_) {
    while (score_pubs_.size() < set.names.size())
      score_pubs_.push_back(pnh_.advertise<sensor_msgs::Image>("scores/" + std::to_string(score_pubs_.size()), 1));
    for (size_t k = 0; k < set.names.size(); ++k) want_scores |= score_pubs_[k].getNumSubscribers() > 0;
  }
  lseg::Output want = lseg::Output::LabelMap;
  if (want_conf) want = want | lseg::Output::Confidence;
  if (want_scores) want = want | lseg::Output::Scores;
  auto seg = model_.try_segment(set.labels, img, seg_opts_, want);
  if (!seg) {
    reject(seg.error().what());
    return;
  }
  const lseg::Segmentation &s = seg.value();
  const bool wide = set.names.size() > 255;
  sensor_msgs::Image mask = output_like(msg, wide ? sensor_msgs::image_encodings::MONO16
                                                  : sensor_msgs::image_encodings::MONO8, wide ? 2 : 1);
  for (size_t i = 0; i < s.label_map.size(); ++i) {
    if (wide) {  // little-endian (is_bigendian = 0)
      mask.data[2 * i] = uint8_t(s.label_map[i] & 0xff);
      mask.data[2 * i + 1] = uint8_t(s.label_map[i] >> 8);
    } else {
      mask.data[i] = uint8_t(s.label_map[i]);
    }
  }
  mask_pub_.publish(mask);
  if (color_pub_.getNumSubscribers() > 0) {
    sensor_msgs::Image out = output_like(msg, sensor_msgs::image_encodings::RGB8, 3);
    colorize(s.label_map, set.palette, out.data);
    color_pub_.publish(out);
  }
  if (overlay_pub_.getNumSubscribers() > 0) {
    sensor_msgs::Image out = output_like(msg, sensor_msgs::image_encodings::RGB8, 3);
    lseg_ros::overlay(msg.data.data(), msg.step, *fmt, msg.width, msg.height, s.label_map, set.palette, alpha_,
                      out.data);
    overlay_pub_.publish(out);
  }
  if (want_conf) confidence_pub_.publish(float_image(msg, s.confidence.data()));
  if (want_scores) {
    // One 32FC1 image per label (LSeg's logits), only for the topics someone reads.
    const size_t hw = size_t{msg.width} * msg.height;
    for (size_t k = 0; k < set.names.size(); ++k)
      if (score_pubs_[k].getNumSubscribers() > 0) score_pubs_[k].publish(float_image(msg, s.scores.data() + k * hw));
  }
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  ++processed_;
  {
    std::lock_guard<std::mutex> lock(stats_mutex_);
    lat_sum_ += ms;
    lat_max_ = std::max(lat_max_, ms);
    ++lat_n_;
    last_processed_ = ros::Time::now();
  }
  NODELET_DEBUG("frame %ux%u %s: %.1f ms (labels v%u)", msg.width, msg.height, msg.encoding.c_str(), ms, set.version);
}

void LsegNodelet::report(const ros::TimerEvent &e) {
  double mean, mx;
  uint64_t n;
  {
    std::lock_guard<std::mutex> lock(stats_mutex_);
    n = lat_n_;
    mean = n ? lat_sum_ / double(n) : 0.0;
    mx = lat_max_;
    lat_sum_ = lat_max_ = 0;
    lat_n_ = 0;
  }
  const double dt = (e.current_real - e.last_real).toSec();
  NODELET_INFO("%.2f fps, latency mean %.1f ms max %.1f ms; frames received %lu, processed %lu, dropped %lu, rejected %lu",
               dt > 0 ? double(n) / dt : 0.0, mean, mx, (unsigned long)received_.load(),
               (unsigned long)processed_.load(), (unsigned long)dropped_.load(), (unsigned long)rejected_.load());
}

void LsegNodelet::diagnose(diagnostic_updater::DiagnosticStatusWrapper &stat) {
  std::lock_guard<std::mutex> lock(stats_mutex_);
  if (last_error_.empty()) stat.summary(diagnostic_msgs::DiagnosticStatus::OK, "ok");
  else stat.summary(diagnostic_msgs::DiagnosticStatus::WARN, last_error_);
  stat.add("received", received_.load());
  stat.add("processed", processed_.load());
  stat.add("dropped", dropped_.load());
  stat.add("rejected", rejected_.load());
  stat.add("labels", std::atomic_load(&labels_)->names.size());
  stat.add("label_version", std::atomic_load(&labels_)->version);
}

void LsegNodelet::stop() {
  {
    std::lock_guard<std::mutex> lock(frame_mutex_);
    stopping_ = true;
  }
  frame_cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

}  // namespace lseg_ros

PLUGINLIB_EXPORT_CLASS(lseg_ros::LsegNodelet, nodelet::Nodelet)
