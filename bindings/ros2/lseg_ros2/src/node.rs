//! The node: its topics, service and parameters over ros2-client, an I/O thread (DDS, the
//! service, timers) and a worker thread that segments the newest frame.

use std::cell::Cell;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::time::{Duration, Instant};

use futures::StreamExt;
use lseg::{LoadOptions, Lseg, Mode};
use ros2_client::qos::{Durability, History, WhenFull};
use ros2_client::{
    Context, ContextOptions, Name, Node, NodeName, NodeOptions, ParameterValue, Publisher,
    QosProfile, ServiceMapping,
};

use crate::frame;
use crate::labels::{ActiveLabels, Labels};
use crate::log::{Level, Logger};
use crate::msg::{
    DiagnosticArray, DiagnosticStatus, Header, Image, KeyValue, LabelInfo, SetLabelsRequest,
    SetLabelsResponse, Time, VisionClass,
};
use crate::ros_args::RosArgs;
use crate::settings::{self, DYNAMIC, REPORTED, STARTUP, Settings};
use crate::stats::Stats;

/// Input QoS: sensor data (best effort, newest frame only).
pub const IMAGE_QOS: QosProfile = QosProfile::subscription_default();
/// Output images: reliable, depth 10 (ROS 2's default; matches reliable and best-effort
/// subscribers).
pub const OUTPUT_QOS: QosProfile = QosProfile::publisher_default()
    .reliability_reliable(WhenFull::Wait(Duration::from_millis(100)))
    .history(History::KeepLast { depth: 10 });
/// `label_info`: reliable and transient local (latched), the last message only.
pub const LABEL_INFO_QOS: QosProfile = QosProfile::publisher_default()
    .reliability_reliable(WhenFull::Wait(Duration::from_millis(100)))
    .durability(Durability::TransientLocal)
    .history(History::KeepLast { depth: 1 });
/// The `set_labels` service.
pub const SERVICE_QOS: QosProfile = QosProfile::publisher_default()
    .reliability_reliable(WhenFull::Wait(Duration::from_millis(100)))
    .history(History::KeepLast { depth: 10 });

const SUMMARY_PERIOD: Duration = Duration::from_secs(10);
const DIAGNOSTICS_PERIOD: Duration = Duration::from_secs(1);

thread_local! {
    /// Set while the node itself writes a reported parameter (`label_names`, ...).
    static REPORTING: Cell<bool> = const { Cell::new(false) };
}

/// Run-time values the parameters may change.
struct Tunables {
    min_period: AtomicU64,
    overlay_alpha: AtomicU64,
}

impl Tunables {
    fn get(v: &AtomicU64) -> f64 {
        f64::from_bits(v.load(Ordering::Relaxed))
    }
    fn set(v: &AtomicU64, x: f64) {
        v.store(x.to_bits(), Ordering::Relaxed)
    }
}

/// The newest frame not yet taken by the worker.
#[derive(Default)]
struct Pending {
    slot: Mutex<Option<Image>>,
    ready: Condvar,
}

impl Pending {
    /// Store `img`; true if it replaced a frame the worker had not taken.
    fn put(&self, img: Image) -> bool {
        let replaced = self.lock().replace(img).is_some();
        self.ready.notify_one();
        replaced
    }

    /// The next frame, or `None` once `stop` is set.
    fn take(&self, stop: &AtomicBool) -> Option<Image> {
        let mut slot = self.lock();
        loop {
            if stop.load(Ordering::Relaxed) {
                return None;
            }
            if let Some(img) = slot.take() {
                return Some(img);
            }
            slot = self
                .ready
                .wait_timeout(slot, Duration::from_millis(100))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Image>> {
        self.slot.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Everything the worker thread uses.
struct Worker {
    model: Arc<Lseg>,
    mode: Mode,
    labels: Arc<Labels>,
    tunables: Arc<Tunables>,
    stats: Arc<Stats>,
    log: Logger,
    node: Arc<Mutex<Node>>,
    fq_node: String,
    mask: Publisher<Image>,
    color: Publisher<Image>,
    overlay: Publisher<Image>,
    confidence: Publisher<Image>,
    publish_scores: bool,
    scores: Vec<Publisher<Image>>,
    last_error_log: Option<Instant>,
    last_frame: Option<Instant>,
}

/// Run the node until `stop` is set (SIGINT/SIGTERM); errors are fatal start-up problems.
pub fn run(args: &RosArgs, stop: Arc<AtomicBool>) -> Result<(), String> {
    let log = Logger::new(
        &args
            .fully_qualified_node()
            .trim_start_matches('/')
            .replace('/', "."),
        Level::parse(&args.log_level)?,
    );
    let settings = Settings::from_params(&args.params)?;
    for name in args.params.keys() {
        if !(STARTUP.contains(&name.as_str())
            || DYNAMIC.contains(&name.as_str())
            || name == "use_sim_time")
        {
            log.log(
                Level::Warn,
                &format!("unknown parameter `{name}` (ignored)"),
            );
        }
    }
    if settings.threads > 0 {
        lseg::set_num_threads(settings.threads);
    }
    let t0 = Instant::now();
    let opts = LoadOptions {
        backend: settings.backend,
        precision: settings.precision,
        config: None,
    };
    let model = Arc::new(
        Lseg::load(&settings.weights, &opts)
            .map_err(|e| format!("cannot load weights \"{}\": {e}", settings.weights))?,
    );
    log.info(&format!(
        "lseg {}: {} loaded in {:.1} s ({:?}, {:?})",
        env!("CARGO_PKG_VERSION"),
        settings.weights,
        t0.elapsed().as_secs_f64(),
        model.backend(),
        model.precision()
    ));
    let (labels, announcements) =
        Labels::new(model.clone(), settings.palette.clone(), &settings.labels)
            .map_err(|e| format!("parameter labels: {e}"))?;
    let labels = Arc::new(labels);
    let tunables = Arc::new(Tunables {
        min_period: AtomicU64::new(settings.min_period.to_bits()),
        overlay_alpha: AtomicU64::new((settings.overlay_alpha as f64).to_bits()),
    });
    let started = Arc::new(AtomicBool::new(false));

    let mut options = NodeOptions::new()
        .enable_rosout(true)
        .start_parameter_services(true)
        // Any declared name may change type (labels: list or comma string); the validator
        // refuses names the node does not have.
        .allow_undeclared_parameters(true)
        .parameter_validator(Box::new(validator(started.clone())))
        .parameter_set_action(Box::new(set_action(
            started.clone(),
            labels.clone(),
            tunables.clone(),
            log.clone(),
        )));
    for (name, value) in settings.declared(&args.params) {
        options = options.declare_parameter(&name, value);
    }
    let ctx = Context::with_options(ContextOptions::new().domain_id(domain_id()?))
        .map_err(|e| format!("DDS: {e:?}"))?;
    let mut node = ctx
        .new_node(
            NodeName::new(&args.namespace, &args.node).map_err(|e| format!("node name: {e:?}"))?,
            options,
        )
        .map_err(|e| format!("cannot create the node: {e:?}"))?;
    log.attach(node.logging_handle());

    let topic = |node: &Node, name: &str, type_name, qos: &QosProfile| {
        let full = args.resolve_private(name);
        let n = Name::parse(&full).map_err(|e| format!("topic name {full}: {e:?}"))?;
        node.create_topic(&n, type_name, qos)
            .map_err(|e| format!("topic {full}: {e:?}"))
    };
    let image_topic = topic(&node, "image", Image::type_name(), &IMAGE_QOS)?;
    let image_sub = node
        .create_subscription::<Image>(&image_topic, Some(IMAGE_QOS))
        .map_err(|e| format!("subscription: {e:?}"))?;
    let mut image_pub = |name: &str| -> Result<Publisher<Image>, String> {
        let t = topic(&node, name, Image::type_name(), &OUTPUT_QOS)?;
        node.create_publisher(&t, Some(OUTPUT_QOS))
            .map_err(|e| format!("publisher {name}: {e:?}"))
    };
    let (mask, color, overlay, confidence) = (
        image_pub("mask")?,
        image_pub("color")?,
        image_pub("overlay")?,
        image_pub("confidence")?,
    );
    let info_topic = topic(&node, "label_info", LabelInfo::type_name(), &LABEL_INFO_QOS)?;
    let label_info = node
        .create_publisher::<LabelInfo>(&info_topic, Some(LABEL_INFO_QOS))
        .map_err(|e| format!("publisher label_info: {e:?}"))?;
    let diag_topic = node
        .create_topic(
            &Name::parse("/diagnostics").map_err(|e| format!("{e:?}"))?,
            DiagnosticArray::type_name(),
            &SERVICE_QOS,
        )
        .map_err(|e| format!("topic /diagnostics: {e:?}"))?;
    let diagnostics = node
        .create_publisher::<DiagnosticArray>(&diag_topic, Some(SERVICE_QOS))
        .map_err(|e| format!("publisher /diagnostics: {e:?}"))?;
    let service_name = args.resolve_private("set_labels");
    let server = node
        .create_server::<SetLabelsRequest, SetLabelsResponse>(
            service_mapping(),
            &Name::parse(&service_name).map_err(|e| format!("service {service_name}: {e:?}"))?,
            &crate::msg::set_labels_type(),
            SERVICE_QOS,
            SERVICE_QOS,
        )
        .map_err(|e| format!("service {service_name}: {e:?}"))?;
    let spinner = node.spinner().map_err(|e| format!("spinner: {e:?}"))?;
    let fq_node = node.fully_qualified_name();
    let node = Arc::new(Mutex::new(node));
    started.store(true, Ordering::SeqCst);

    let stats = Arc::new(Stats::default());
    let pending = Arc::new(Pending::default());
    let worker_stop = Arc::new(AtomicBool::new(false));
    let worker = {
        let mut w = Worker {
            model,
            mode: settings.mode.clone(),
            labels: labels.clone(),
            tunables,
            stats: stats.clone(),
            log: log.clone(),
            node: node.clone(),
            fq_node: args.fully_qualified_node(),
            mask,
            color,
            overlay,
            confidence,
            publish_scores: settings.publish_scores,
            scores: Vec::new(),
            last_error_log: None,
            last_frame: None,
        };
        let (pending, stop) = (pending.clone(), worker_stop.clone());
        std::thread::Builder::new()
            .name("lseg-worker".into())
            .spawn(move || {
                while let Some(img) = pending.take(&stop) {
                    w.frame(img);
                }
            })
            .map_err(|e| e.to_string())?
    };
    let announcer = {
        let (node, log, stop) = (node.clone(), log.clone(), worker_stop.clone());
        std::thread::Builder::new()
            .name("lseg-labels".into())
            .spawn(move || announce(announcements, &label_info, &node, &log, &stop))
            .map_err(|e| e.to_string())?
    };
    log.info(&format!(
        "{fq_node}: {} labels, {:?}; subscribed to {} (best effort, depth 1)",
        labels.current().names().len(),
        settings.mode,
        args.resolve_private("image"),
    ));

    smol::block_on(smol::future::or(
        async {
            let _ = futures::join!(
                spinner.spin(),
                receive(&image_sub, &pending, &stats, &log),
                serve(&server, &labels, &log),
                report(&stats, &labels, &diagnostics, &fq_node, &log),
            );
        },
        async {
            while !stop.load(Ordering::Relaxed) {
                smol::Timer::after(Duration::from_millis(50)).await;
            }
        },
    ));
    log.info("shutting down");
    worker_stop.store(true, Ordering::SeqCst);
    let _ = worker.join();
    let _ = announcer.join();
    Ok(())
}

impl Worker {
    fn frame(&mut self, img: Image) {
        let min_period = Tunables::get(&self.tunables.min_period);
        if min_period > 0.0 {
            // Throttle: skip frames until `min_period` has passed since the last one.
            if self
                .last_frame
                .is_some_and(|t| t.elapsed().as_secs_f64() < min_period)
            {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        self.last_frame = Some(Instant::now());
        let set = self.labels.current();
        let t0 = Instant::now();
        if let Err(why) = self.process(&img, &set) {
            self.stats.rejected(&why);
            // At most one error line per second under a stream of bad frames.
            if self
                .last_error_log
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
            {
                self.last_error_log = Some(Instant::now());
                self.log.error(&format!("dropping a frame: {why}"));
            }
            return;
        }
        let ms = t0.elapsed().as_secs_f64() * 1e3;
        self.stats.processed(ms);
        if self.log.enabled(Level::Debug) {
            self.log.debug(&format!(
                "frame {}x{} {}: {ms:.1} ms (labels v{})",
                img.width, img.height, img.encoding, set.version
            ));
        }
    }

    fn process(&mut self, img: &Image, set: &ActiveLabels) -> Result<(), String> {
        let view = frame::view(img)?;
        let n = set.names().len();
        if self.publish_scores && self.scores.len() < n {
            self.offer_scores(n);
        }
        let (want_color, want_overlay, want_conf, want_scores) = {
            let node = self.node.lock().unwrap_or_else(|e| e.into_inner());
            let subscribed = |p: &Publisher<Image>| p.get_subscription_count(&node) > 0;
            (
                subscribed(&self.color),
                subscribed(&self.overlay),
                subscribed(&self.confidence),
                self.publish_scores && self.scores[..n].iter().any(subscribed),
            )
        };
        let seg = self
            .model
            .segment(&view, &set.set, &self.mode, None)
            .map_err(|e| e.to_string())?;
        let map = seg.label_map();
        publish(&self.mask, frame::mask(img, &map, n));
        if want_color {
            publish(&self.color, frame::color(img, &map, &set.palette));
        }
        if want_overlay {
            let alpha = Tunables::get(&self.tunables.overlay_alpha) as f32;
            publish(
                &self.overlay,
                frame::overlay(img, &view, &map, &set.palette, alpha),
            );
        }
        if want_conf {
            publish(&self.confidence, frame::float_plane(img, &seg.confidence()));
        }
        if want_scores {
            let scores = seg.scores_vec();
            let hw = map.len();
            let node = self.node.lock().unwrap_or_else(|e| e.into_inner());
            for (k, p) in self.scores[..n].iter().enumerate() {
                if p.get_subscription_count(&node) > 0 {
                    publish(p, frame::float_plane(img, &scores[k * hw..(k + 1) * hw]));
                }
            }
        }
        Ok(())
    }
}

impl Worker {
    /// Create `scores/label_K` publishers up to `n` labels (on the first frame with that
    /// many). ROS 2 name tokens cannot start with a digit, hence `label_K`, not ROS 1's `K`.
    fn offer_scores(&mut self, n: usize) {
        let mut node = self.node.lock().unwrap_or_else(|e| e.into_inner());
        while self.scores.len() < n {
            let name = format!(
                "{}/scores/label_{}",
                self.fq_node.trim_end_matches('/'),
                self.scores.len()
            );
            let publisher = Name::parse(&name)
                .map_err(|e| format!("{e:?}"))
                .and_then(|t| {
                    node.create_topic(&t, Image::type_name(), &OUTPUT_QOS)
                        .map_err(|e| format!("{e:?}"))
                })
                .and_then(|t| {
                    node.create_publisher(&t, Some(OUTPUT_QOS))
                        .map_err(|e| format!("{e:?}"))
                });
            match publisher {
                Ok(p) => self.scores.push(p),
                Err(e) => {
                    self.log
                        .error(&format!("cannot offer {name}: {e} (scores disabled)"));
                    self.publish_scores = false;
                    return;
                }
            }
        }
    }
}

fn publish<M: serde::Serialize>(p: &Publisher<M>, m: M) {
    // A full reliable queue of a slow subscriber drops that output; the node goes on.
    let _ = p.publish(m);
}

/// Take frames off the input topic into the pending slot (newest wins).
async fn receive(
    sub: &ros2_client::Subscription<Image>,
    pending: &Pending,
    stats: &Stats,
    log: &Logger,
) {
    let mut frames = pin!(sub.async_stream());
    while let Some(r) = frames.next().await {
        match r {
            Ok((img, _)) => {
                stats.received.fetch_add(1, Ordering::Relaxed);
                if pending.put(img) {
                    stats.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(e) => log.error(&format!("cannot read a frame: {e:?}")),
        }
    }
}

/// Answer `set_labels`: encode off the I/O thread, reply with the version in use.
async fn serve(
    server: &ros2_client::Server<SetLabelsRequest, SetLabelsResponse>,
    labels: &Arc<Labels>,
    log: &Logger,
) {
    loop {
        let (id, req) = match server.async_receive_request().await {
            Ok(r) => r,
            Err(e) => {
                log.error(&format!("set_labels: cannot read a request: {e:?}"));
                continue;
            }
        };
        let l = labels.clone();
        let names = req.labels.clone();
        let result = smol::unblock(move || l.replace(&names)).await;
        let response = match result {
            Ok(version) => SetLabelsResponse {
                success: true,
                message: "ok".into(),
                version,
            },
            Err(e) => {
                log.error(&format!("set_labels: {e} (keeping the previous labels)"));
                SetLabelsResponse {
                    success: false,
                    message: e,
                    version: labels.current().version,
                }
            }
        };
        if let Err(e) = server.async_send_response(id, response).await {
            log.error(&format!("set_labels: cannot reply: {e:?}"));
        }
    }
}

/// The summary at INFO every 10 s and `/diagnostics` every second.
async fn report(
    stats: &Stats,
    labels: &Labels,
    diagnostics: &Publisher<DiagnosticArray>,
    fq_node: &str,
    log: &Logger,
) {
    let mut last_summary = Instant::now();
    let mut rejected_before = 0;
    loop {
        smol::Timer::after(DIAGNOSTICS_PERIOD).await;
        let [received, processed, dropped, rejected] = stats.counts();
        if last_summary.elapsed() >= SUMMARY_PERIOD {
            let dt = last_summary.elapsed().as_secs_f64();
            last_summary = Instant::now();
            let s = stats.take_summary();
            log.info(&format!(
                "{:.2} fps, latency mean {:.1} ms max {:.1} ms; frames received {received}, \
                 processed {processed}, dropped {dropped}, rejected {rejected}",
                s.frames as f64 / dt,
                s.mean_ms,
                s.max_ms
            ));
        }
        let current = labels.current();
        let recent_errors = rejected > rejected_before;
        rejected_before = rejected;
        let kv = |k: &str, v: String| KeyValue {
            key: k.into(),
            value: v,
        };
        let status = DiagnosticStatus {
            level: if recent_errors { 1 } else { 0 },
            name: format!("{}: segmentation", fq_node.trim_start_matches('/')),
            message: if recent_errors {
                stats.last_error()
            } else {
                "ok".into()
            },
            hardware_id: "lseg".into(),
            values: vec![
                kv("received", received.to_string()),
                kv("processed", processed.to_string()),
                kv("dropped", dropped.to_string()),
                kv("rejected", rejected.to_string()),
                kv("labels", current.names().len().to_string()),
                kv("label_version", current.version.to_string()),
            ],
        };
        publish(
            diagnostics,
            DiagnosticArray {
                header: Header {
                    stamp: Time::now(),
                    frame_id: String::new(),
                },
                status: vec![status],
            },
        );
    }
}

/// Publish every label change on `label_info` and in the reported parameters.
fn announce(
    changes: mpsc::Receiver<Arc<ActiveLabels>>,
    label_info: &Publisher<LabelInfo>,
    node: &Mutex<Node>,
    log: &Logger,
    stop: &AtomicBool,
) {
    while !stop.load(Ordering::Relaxed) {
        let Ok(set) = changes.recv_timeout(Duration::from_millis(100)) else {
            continue;
        };
        let names = set.names().to_vec();
        publish(
            label_info,
            LabelInfo {
                header: Header {
                    stamp: Time::now(),
                    frame_id: String::new(),
                },
                class_map: names
                    .iter()
                    .enumerate()
                    .map(|(i, n)| VisionClass {
                        class_id: i as u16,
                        class_name: n.clone(),
                    })
                    .collect(),
                threshold: 0.0,
            },
        );
        REPORTING.with(|r| r.set(true));
        {
            let node = node.lock().unwrap_or_else(|e| e.into_inner());
            let _ = node.set_parameter("label_names", ParameterValue::StringArray(names.clone()));
            let _ =
                node.set_parameter("label_version", ParameterValue::Integer(set.version as i64));
        }
        REPORTING.with(|r| r.set(false));
        log.info(&format!("labels v{}: {}", set.version, names.join(", ")));
    }
}

/// Which parameter changes are allowed once the node runs.
fn validator(
    started: Arc<AtomicBool>,
) -> impl Fn(&str, &ParameterValue) -> Result<(), String> + Send + Sync {
    move |name, value| {
        if !started.load(Ordering::SeqCst) {
            return Ok(()); // the command line's values, checked by Settings
        }
        match name {
            "labels" => settings::label_list(value).map(drop),
            "min_period" => settings::min_period(value).map(drop),
            "overlay_alpha" => settings::overlay_alpha(value).map(drop),
            n if REPORTED.contains(&n) => {
                if REPORTING.with(Cell::get) {
                    Ok(())
                } else {
                    Err(format!(
                        "parameter {n} is read-only (the node reports its labels there)"
                    ))
                }
            }
            n if STARTUP.contains(&n) => Err(format!(
                "parameter {n} is read at start only: restart the node to change it"
            )),
            n => Err(format!("the node has no parameter {n}")),
        }
    }
}

/// Apply a parameter change: labels are encoded here (a refused set fails the request).
fn set_action(
    started: Arc<AtomicBool>,
    labels: Arc<Labels>,
    tunables: Arc<Tunables>,
    log: Logger,
) -> impl Fn(&str, &ParameterValue) -> Result<(), String> + Send + Sync {
    move |name, value| {
        if !started.load(Ordering::SeqCst) {
            return Ok(());
        }
        match name {
            "labels" => {
                let names = settings::label_list(value)?;
                labels.replace(&names).map(drop).inspect_err(|e| {
                    log.error(&format!(
                        "parameter labels: {e} (keeping the previous labels)"
                    ))
                })
            }
            "min_period" => {
                Tunables::set(&tunables.min_period, settings::min_period(value)?);
                Ok(())
            }
            "overlay_alpha" => {
                Tunables::set(
                    &tunables.overlay_alpha,
                    settings::overlay_alpha(value)? as f64,
                );
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// `ROS_DOMAIN_ID`, 0 when unset.
fn domain_id() -> Result<u16, String> {
    match std::env::var("ROS_DOMAIN_ID") {
        Err(_) => Ok(0),
        Ok(s) if s.trim().is_empty() => Ok(0),
        Ok(s) => s
            .trim()
            .parse::<u16>()
            .ok()
            .filter(|&d| d <= 232)
            .ok_or_else(|| format!("ROS_DOMAIN_ID is \"{s}\", expected 0..232")),
    }
}

/// The request/reply mapping of the `set_labels` service: Cyclone DDS's under
/// `RMW_IMPLEMENTATION=rmw_cyclonedds_cpp`, else the enhanced one of Fast DDS (ROS 2's
/// default RMW).
fn service_mapping() -> ServiceMapping {
    match std::env::var("RMW_IMPLEMENTATION") {
        Ok(r) if r.contains("cyclonedds") => ServiceMapping::Cyclone,
        _ => ServiceMapping::Enhanced,
    }
}
