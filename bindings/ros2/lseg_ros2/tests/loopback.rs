//! The node as a separate process over DDS on loopback, driven by a ros2-client node of this
//! test with the ROS 2 message types: masks equal the library's label maps bit for bit, bad
//! frames are refused while the node keeps serving, label changes through the service and the
//! parameter never mix in one mask, `label_info` is latched (transient local), a fast
//! publisher gets frames dropped with the newest served, outputs on subscription equal the
//! library's, and the node exits cleanly on SIGINT/SIGTERM. Each test runs on its own DDS
//! domain, so they run in parallel without seeing each other.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use lseg::{ImageView, LoadOptions, Lseg, Mode, PixelFormat};
use lseg_ros2::msg::{Header, Image, LabelInfo, SetLabelsRequest, SetLabelsResponse, Time};
use lseg_ros2::node::{IMAGE_QOS, LABEL_INFO_QOS, OUTPUT_QOS, SERVICE_QOS};
use ros2_client::rcl_interfaces::{
    GetParametersRequest, GetParametersResponse, SetParametersRequest, SetParametersResponse,
};
use ros2_client::{
    Client, Context, ContextOptions, MessageTypeName, Name, Node, NodeName, NodeOptions, Parameter,
    ParameterValue, Publisher, ServiceMapping, ServiceTypeName,
};

const SIZE: usize = 64;

fn weights() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../examples/data/tiny-random-vit16.safetensors")
}

/// A DDS domain of its own for each test (and each run of the test binary).
fn domain() -> u16 {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let base = 20 + (std::process::id() % 40) as u16 * 5;
    base + NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A deterministic RGB frame, different for every `k`.
fn frame(k: u32, w: usize, h: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(w * h * 3);
    let mut s = k.wrapping_mul(2654435761).wrapping_add(12345);
    for y in 0..h {
        for x in 0..w {
            for c in 0..3 {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                let base = [(x * 4 + 9 * k as usize), y * 5, x * y + 31 * k as usize][c] % 256;
                v.push((base as i32 + (s % 60) as i32 - 30).clamp(0, 255) as u8);
            }
        }
    }
    v
}

/// `rgb` (packed, w x h) as a message of `encoding`, rows padded by `pad` bytes.
fn to_msg(rgb: &[u8], w: usize, h: usize, encoding: &str, seq: u32, pad: usize) -> Image {
    let px: Vec<u8> = match encoding {
        "bgr8" => rgb.chunks(3).flat_map(|p| [p[2], p[1], p[0]]).collect(),
        "rgba8" => rgb.chunks(3).flat_map(|p| [p[0], p[1], p[2], 7]).collect(),
        "bgra8" => rgb.chunks(3).flat_map(|p| [p[2], p[1], p[0], 7]).collect(),
        "mono8" => rgb.chunks(3).map(|p| p[1]).collect(),
        _ => rgb.to_vec(),
    };
    let row = px.len() / h;
    let data = px
        .chunks(row)
        .flat_map(|r| r.iter().copied().chain(std::iter::repeat_n(0, pad)))
        .collect();
    Image {
        header: Header {
            stamp: Time {
                sec: 1000,
                nanosec: seq,
            },
            frame_id: format!("cam{seq}"),
        },
        height: h as u32,
        width: w as u32,
        encoding: encoding.into(),
        is_bigendian: 0,
        step: (row + pad) as u32,
        data,
    }
}

/// Images of one topic, by stamp nanoseconds.
#[derive(Default)]
struct Inbox {
    got: Mutex<HashMap<u32, Image>>,
    cond: Condvar,
}

impl Inbox {
    fn wait(&self, seq: u32, timeout: Duration) -> Option<Image> {
        let deadline = Instant::now() + timeout;
        let mut got = self.got.lock().unwrap();
        while !got.contains_key(&seq) && Instant::now() < deadline {
            got = self
                .cond
                .wait_timeout(got, Duration::from_millis(50))
                .unwrap()
                .0;
        }
        got.get(&seq).cloned()
    }
    fn has(&self, seq: u32) -> bool {
        self.got.lock().unwrap().contains_key(&seq)
    }
    fn all(&self) -> HashMap<u32, Image> {
        self.got.lock().unwrap().clone()
    }
}

/// The node under test and this test's own DDS node.
struct Rig {
    child: Child,
    domain: u16,
    node: Arc<Mutex<Node>>,
    images: Publisher<Image>,
    masks: Arc<Inbox>,
    model: Lseg,
    // Made once at start: a service's reply writer needs time to discover a new client.
    set_labels: Client<SetLabelsRequest, SetLabelsResponse>,
    set_params: Client<SetParametersRequest, SetParametersResponse>,
    get_params: Client<GetParametersRequest, GetParametersResponse>,
}

impl Rig {
    fn start(extra: &[&str]) -> Self {
        let domain = domain();
        let child = spawn_node(domain, "lseg", extra);
        let ctx = Context::with_options(ContextOptions::new().domain_id(domain)).unwrap();
        let mut node = ctx
            .new_node(
                NodeName::new("/", "lseg_test").unwrap(),
                NodeOptions::new().enable_rosout(false),
            )
            .unwrap();
        let t = node
            .create_topic(
                &Name::parse("/test/image").unwrap(),
                Image::type_name(),
                &IMAGE_QOS,
            )
            .unwrap();
        let images = node.create_publisher::<Image>(&t, Some(IMAGE_QOS)).unwrap();
        let spinner = node.spinner().unwrap();
        std::thread::spawn(move || smol::block_on(spinner.spin()));
        let node = Arc::new(Mutex::new(node));
        let masks = subscribe(&node, "/lseg/mask");
        let model = Lseg::load(weights(), &LoadOptions::default()).unwrap();
        let set_labels = client(&node, "/lseg/set_labels", "lseg_msgs", "SetLabels");
        let set_params = client(
            &node,
            "/lseg/set_parameters",
            "rcl_interfaces",
            "SetParameters",
        );
        let get_params = client(
            &node,
            "/lseg/get_parameters",
            "rcl_interfaces",
            "GetParameters",
        );
        let rig = Self {
            child,
            domain,
            node,
            images,
            masks,
            model,
            set_labels,
            set_params,
            get_params,
        };
        rig.wait_for_node();
        rig
    }

    /// Until the node subscribes to the image topic (discovery done both ways).
    fn wait_for_node(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self
            .images
            .get_subscription_count(&self.node.lock().unwrap())
            == 0
        {
            assert!(
                Instant::now() < deadline,
                "the node never subscribed to /test/image"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(300));
    }

    fn send(&self, msg: Image) -> u32 {
        let seq = msg.header.stamp.nanosec;
        self.images.publish(msg).unwrap();
        seq
    }

    /// Send until a mask of this stamp comes back (the input is best effort: a frame may be
    /// lost in transport, never answered wrongly).
    fn roundtrip(&self, msg: Image) -> Image {
        for _ in 0..5 {
            let seq = self.send(msg.clone());
            if let Some(m) = self.masks.wait(seq, Duration::from_secs(5)) {
                return m;
            }
        }
        panic!("no mask for frame {}", msg.header.stamp.nanosec);
    }

    fn expected(&self, view: &ImageView, labels: &[&str]) -> lseg::Segmentation {
        let set = self.model.encode_labels(labels).unwrap();
        self.model
            .segment(view, &set, &Mode::Single { size: Some(SIZE) }, None)
            .unwrap()
    }

    fn set_labels(&self, labels: &[&str]) -> SetLabelsResponse {
        call(
            &self.node,
            &self.set_labels,
            SetLabelsRequest {
                labels: labels.iter().map(|s| s.to_string()).collect(),
            },
        )
    }

    fn set_param(&self, name: &str, value: ParameterValue) -> (bool, String) {
        let r = call(
            &self.node,
            &self.set_params,
            SetParametersRequest {
                parameter: vec![
                    Parameter {
                        name: name.into(),
                        value,
                    }
                    .into(),
                ],
            },
        );
        (r.results[0].successful, r.results[0].reason.clone())
    }

    fn get_param(&self, name: &str) -> ParameterValue {
        let r = call(
            &self.node,
            &self.get_params,
            GetParametersRequest {
                names: vec![name.into()],
            },
        );
        r.values[0].clone().into()
    }

    /// The latched label metadata, as a subscriber joining now ends up with it: the last of
    /// the samples the writer still holds (DDS may deliver older ones first).
    fn label_info(&self) -> LabelInfo {
        let mut node = self.node.lock().unwrap();
        let t = node
            .create_topic(
                &Name::parse("/lseg/label_info").unwrap(),
                LabelInfo::type_name(),
                &LABEL_INFO_QOS,
            )
            .unwrap();
        let sub = node
            .create_subscription::<LabelInfo>(&t, Some(LABEL_INFO_QOS))
            .unwrap();
        drop(node);
        let first = smol::block_on(smol::future::or(
            async { Some(sub.async_take().await.unwrap().0) },
            async {
                smol::Timer::after(Duration::from_secs(20)).await;
                None
            },
        ))
        .expect("no label_info within 20 s");
        let mut last = first;
        let until = Instant::now() + Duration::from_millis(1500);
        while Instant::now() < until {
            match sub.take() {
                Ok(Some((m, _))) => last = m,
                _ => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        last
    }

    fn stop(mut self, signal: i32) -> std::process::ExitStatus {
        unsafe_kill(self.child.id(), signal);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(Instant::now() < deadline, "the node did not exit");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn unsafe_kill(pid: u32, signal: i32) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

fn spawn_node(domain: u16, name: &str, extra: &[&str]) -> Child {
    let w = weights();
    let mut args = vec![
        "--ros-args".to_string(),
        "-r".into(),
        format!("__node:={name}"),
        "-p".into(),
        format!("weights:={}", w.display()),
        "-p".into(),
        "labels:=grass, sky".into(),
        "-p".into(),
        format!("size:={SIZE}"),
        "-p".into(),
        "threads:=1".into(),
        "-r".into(),
        "image:=/test/image".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    Command::new(env!("CARGO_BIN_EXE_lseg_node"))
        .args(&args)
        .env("ROS_DOMAIN_ID", domain.to_string())
        .stdin(Stdio::null())
        .spawn()
        .unwrap()
}

fn client<Req, Resp>(
    node: &Arc<Mutex<Node>>,
    service: &str,
    pkg: &str,
    ty: &str,
) -> Client<Req, Resp>
where
    Req: ros2_client::Message + Clone + 'static,
    Resp: ros2_client::Message + 'static,
{
    node.lock()
        .unwrap()
        .create_client::<Req, Resp>(
            ServiceMapping::Enhanced,
            &Name::parse(service).unwrap(),
            &ServiceTypeName::new(pkg, ty),
            SERVICE_QOS,
            SERVICE_QOS,
        )
        .unwrap()
}

fn subscribe(node: &Arc<Mutex<Node>>, topic: &str) -> Arc<Inbox> {
    let inbox = Arc::new(Inbox::default());
    let sub = {
        let mut n = node.lock().unwrap();
        let t = n
            .create_topic(
                &Name::parse(topic).unwrap(),
                Image::type_name(),
                &OUTPUT_QOS,
            )
            .unwrap();
        n.create_subscription::<Image>(&t, Some(OUTPUT_QOS))
            .unwrap()
    };
    let i = inbox.clone();
    std::thread::spawn(move || {
        smol::block_on(async {
            let mut s = std::pin::pin!(sub.async_stream());
            while let Some(Ok((m, _))) = s.next().await {
                i.got.lock().unwrap().insert(m.header.stamp.nanosec, m);
                i.cond.notify_all();
            }
        })
    });
    inbox
}

fn call<Req, Resp>(node: &Arc<Mutex<Node>>, client: &Client<Req, Resp>, req: Req) -> Resp
where
    Req: ros2_client::Message + 'static,
    Resp: ros2_client::Message + 'static,
{
    // Until the service is matched both ways (polled: the node lock is not held across awaits).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let matched = {
            let n = node.lock().unwrap();
            futures::FutureExt::now_or_never(client.wait_for_service(&n)).is_some()
        };
        if matched {
            break;
        }
        assert!(Instant::now() < deadline, "service never appeared");
        std::thread::sleep(Duration::from_millis(50));
    }
    smol::block_on(async {
        let id = client.async_send_request(req).await.unwrap();
        smol::future::or(
            async { client.async_receive_response(id).await.unwrap() },
            async {
                smol::Timer::after(Duration::from_secs(30)).await;
                panic!("no response within 30 s");
            },
        )
        .await
    })
}

fn mask_of(m: &Image) -> Vec<u16> {
    assert_eq!(m.encoding, "mono8");
    m.data
        .chunks(m.step as usize)
        .flat_map(|r| r[..m.width as usize].iter().map(|&v| v as u16))
        .collect()
}

#[test]
fn every_encoding_bit_for_bit_and_bad_frames_refused() {
    let rig = Rig::start(&[]);
    let (w, h) = (64, 48);
    let mut seq = 0;
    for enc in ["rgb8", "bgr8", "rgba8", "bgra8", "mono8"] {
        for pad in [0, 5] {
            seq += 1;
            let rgb = frame(seq, w, h);
            let msg = to_msg(&rgb, w, h, enc, seq, pad);
            let m = rig.roundtrip(msg.clone());
            assert_eq!(
                (m.header.frame_id.as_str(), m.width, m.height),
                (format!("cam{seq}").as_str(), 64, 48)
            );
            let view = lseg_ros2::frame::view(&msg).unwrap();
            assert_eq!(view.format(), lseg_ros2::frame::pixel_format(enc).unwrap());
            let want = rig.expected(&view, &["grass", "sky"]);
            assert_eq!(mask_of(&m), want.label_map(), "{enc} pad {pad}");
        }
    }
    // A gray frame read as lseg's Gray8 equals the RGB frame of its value in each channel.
    let g = frame(99, w, h);
    let gray: Vec<u8> = g.chunks(3).map(|p| p[1]).collect();
    let as_rgb: Vec<u8> = gray.iter().flat_map(|&v| [v, v, v]).collect();
    let a = rig.expected(
        &ImageView::packed(&gray, w, h, PixelFormat::Gray8).unwrap(),
        &["grass", "sky"],
    );
    let b = rig.expected(
        &ImageView::packed(&as_rgb, w, h, PixelFormat::Rgb8).unwrap(),
        &["grass", "sky"],
    );
    assert_eq!(a.label_map(), b.label_map());

    // Bad frames: a step shorter than a row, an unknown encoding, short data.
    let mut short_step = to_msg(&frame(50, w, h), w, h, "rgb8", 50, 0);
    short_step.step = 10;
    let weird = to_msg(&frame(51, w, h), w, h, "16UC1", 51, 0);
    let mut short = to_msg(&frame(52, w, h), w, h, "rgb8", 52, 0);
    short.data.truncate(short.data.len() - 7);
    let mut empty = to_msg(&frame(53, w, h), w, h, "rgb8", 53, 0);
    (empty.width, empty.height, empty.step, empty.data) = (0, 0, 0, vec![]);
    for bad in [short_step, weird, short, empty] {
        rig.send(bad);
        std::thread::sleep(Duration::from_millis(200));
    }
    let good = rig.roundtrip(to_msg(&frame(60, w, h), w, h, "rgb8", 60, 0));
    assert_eq!(good.header.frame_id, "cam60");
    std::thread::sleep(Duration::from_millis(300));
    for s in 50..54 {
        assert!(!rig.masks.has(s), "bad frame {s} got a mask");
    }
    assert!(rig.stop(2).success());
}

#[test]
fn label_changes_never_mix_and_label_info_is_latched() {
    let rig = Rig::start(&[]);
    let (w, h) = (64, 48);
    let first = rig.label_info();
    let names = |i: &LabelInfo| {
        i.class_map
            .iter()
            .map(|c| c.class_name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&first), ["grass", "sky"]);
    assert_eq!(
        first
            .class_map
            .iter()
            .map(|c| c.class_id)
            .collect::<Vec<_>>(),
        [0, 1]
    );
    assert_eq!(rig.get_param("label_version"), ParameterValue::Integer(1));

    let sets: [&[&str]; 3] = [
        &["grass", "sky"],
        &["dirt", "forest", "water"],
        &["road", "car", "tree", "house"],
    ];
    let rig = Arc::new(rig);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let streamer = {
        let (rig, stop) = (rig.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut sent = Vec::new();
            let mut seq = 1000;
            while !stop.load(Ordering::Relaxed) {
                seq += 1;
                rig.send(to_msg(&frame(seq % 7, w, h), w, h, "rgb8", seq, 0));
                sent.push(seq);
                std::thread::sleep(Duration::from_millis(20));
            }
            sent
        })
    };
    std::thread::sleep(Duration::from_secs(1));
    let r = rig.set_labels(sets[1]);
    assert!(r.success, "{}", r.message);
    assert_eq!(r.version, 2);
    std::thread::sleep(Duration::from_secs(1));
    let (ok, why) = rig.set_param("labels", ParameterValue::String(sets[2].join(", ")));
    assert!(ok, "{why}");
    std::thread::sleep(Duration::from_secs(1));
    // Refused sets keep the current one: an empty label, an empty list, a wrong type.
    let bad = rig.set_labels(&[""]);
    assert!(!bad.success);
    assert!(bad.message.contains("empty"), "{}", bad.message);
    assert_eq!(bad.version, 3);
    let (ok, why) = rig.set_param("labels", ParameterValue::StringArray(vec![]));
    assert!(!ok && why.contains("empty"), "{why}");
    let (ok, why) = rig.set_param("labels", ParameterValue::Integer(3));
    assert!(!ok && why.contains("labels"), "{why}");
    let (ok, why) = rig.set_param("weights", ParameterValue::String("/other".into()));
    assert!(!ok && why.contains("restart"), "{why}");
    let (ok, why) = rig.set_param("label_version", ParameterValue::Integer(7));
    assert!(!ok && why.contains("read-only"), "{why}");
    let (ok, why) = rig.set_param("no_such", ParameterValue::Integer(1));
    assert!(!ok && why.contains("no parameter"), "{why}");
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let sent = streamer.join().unwrap();
    std::thread::sleep(Duration::from_secs(1));

    let got = rig.masks.all();
    let mut expected = HashMap::new();
    let mut used = std::collections::BTreeSet::new();
    let mut checked = 0;
    for seq in sent {
        let Some(m) = got.get(&seq) else { continue };
        let rgb = frame(seq % 7, w, h);
        let view = ImageView::packed(&rgb, w, h, PixelFormat::Rgb8).unwrap();
        let map = mask_of(m);
        let matches: Vec<usize> = (0..3)
            .filter(|&i| {
                let e = expected
                    .entry((seq % 7, i))
                    .or_insert_with(|| rig.expected(&view, sets[i]).label_map());
                *e == map
            })
            .collect();
        assert!(
            !matches.is_empty(),
            "mask {seq} matches no complete label set"
        );
        used.extend(matches);
        checked += 1;
    }
    assert!(checked > 20, "only {checked} masks");
    assert!(
        used.contains(&1) && used.contains(&2),
        "label sets used: {used:?}"
    );
    let info = rig.label_info(); // a late joiner gets the latest set
    assert_eq!(names(&info), sets[2]);
    assert_eq!(
        rig.get_param("label_names"),
        ParameterValue::StringArray(sets[2].iter().map(|s| s.to_string()).collect())
    );
    assert_eq!(rig.get_param("label_version"), ParameterValue::Integer(3));
    let rig = Arc::into_inner(rig).unwrap();
    assert!(rig.stop(15).success()); // SIGTERM
}

#[test]
fn fast_publisher_drops_frames_and_the_newest_wins() {
    let rig = Rig::start(&[]);
    let (w, h) = (320, 240);
    rig.roundtrip(to_msg(&frame(1, w, h), w, h, "rgb8", 1, 0)); // warm
    let seqs: Vec<u32> = (100..160)
        .map(|s| rig.send(to_msg(&frame(s % 5, w, h), w, h, "rgb8", s, 0)))
        .collect();
    let last = *seqs.last().unwrap();
    let mut served = rig.masks.wait(last, Duration::from_secs(20)).is_some();
    if !served {
        // The newest frame itself was lost in transport (best effort): one more.
        served = rig
            .roundtrip(to_msg(&frame(7, w, h), w, h, "rgb8", 200, 0))
            .header
            .frame_id
            == "cam200";
    }
    assert!(served, "the newest frame got no mask");
    std::thread::sleep(Duration::from_millis(500));
    let answered = seqs.iter().filter(|&&s| rig.masks.has(s)).count();
    assert!(
        answered < seqs.len(),
        "all {answered} frames served: nothing dropped"
    );
    assert!(rig.stop(2).success());
}

#[test]
fn outputs_on_subscription_equal_the_library() {
    let rig = Rig::start(&[
        "-p",
        "publish_scores:=true",
        "-p",
        "overlay_alpha:=0.25",
        "-p",
        "palette:=['#ff0000']",
    ]);
    let (w, h) = (64, 48);
    rig.roundtrip(to_msg(&frame(1, w, h), w, h, "rgb8", 1, 0)); // creates scores/label_0, label_1
    let conf = subscribe(&rig.node, "/lseg/confidence");
    let scores = subscribe(&rig.node, "/lseg/scores/label_1");
    let color = subscribe(&rig.node, "/lseg/color");
    let overlay = subscribe(&rig.node, "/lseg/overlay");
    let rgb = frame(5, w, h);
    let mut seq = 10;
    let mut all = false;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !all && Instant::now() < deadline {
        // Until the node has seen every subscription.
        seq += 1;
        rig.roundtrip(to_msg(&rgb, w, h, "bgr8", seq, 0));
        std::thread::sleep(Duration::from_millis(200));
        all = [&conf, &scores, &color, &overlay]
            .iter()
            .all(|i| i.has(seq));
    }
    assert!(all, "not every output arrived");
    let view = ImageView::packed(&rgb, w, h, PixelFormat::Rgb8).unwrap();
    let want = rig.expected(&view, &["grass", "sky"]);
    let floats = |m: &Image| -> Vec<f32> {
        assert_eq!(m.encoding, "32FC1");
        m.data
            .chunks(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect()
    };
    assert_eq!(
        floats(&conf.wait(seq, Duration::ZERO).unwrap()),
        want.confidence()
    );
    let hw = w * h;
    assert_eq!(
        floats(&scores.wait(seq, Duration::ZERO).unwrap()),
        want.scores_vec()[hw..2 * hw]
    );
    let pal = [[255, 0, 0], lseg::palette::colour(1)];
    let map = want.label_map();
    let c = color.wait(seq, Duration::ZERO).unwrap();
    assert_eq!(c.encoding, "rgb8");
    let want_c: Vec<u8> = map.iter().flat_map(|&l| pal[l as usize]).collect();
    assert_eq!(c.data, want_c);
    let o = overlay.wait(seq, Duration::ZERO).unwrap();
    let want_o: Vec<u8> = rgb
        .chunks(3)
        .zip(&map)
        .flat_map(|(p, &l)| lseg::palette::blend([p[0], p[1], p[2]], pal[l as usize], 0.25))
        .collect();
    assert_eq!(o.data, want_o);
    let _ = rig.domain;
    assert!(rig.stop(2).success());
}

#[test]
fn bad_start_is_a_fatal_error_with_the_reason() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_lseg_node"))
            .args(args)
            .env("ROS_DOMAIN_ID", domain().to_string())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let w = format!("weights:={}", weights().display());
    for (args, want) in [
        (vec!["--ros-args"], "weights is not set"),
        (
            vec!["--ros-args", "-p", "weights:=/no/such.safetensors"],
            "/no/such.safetensors",
        ),
        (vec!["--ros-args", "-p", &w, "-p", "labels:=[]"], "empty"),
        (
            vec!["--ros-args", "-p", &w, "-p", "backend:=gpu"],
            "backend",
        ),
        (
            vec!["--ros-args", "-p", &w, "-p", "palette:=[red]"],
            "#rrggbb",
        ),
        (vec!["--weights", "x"], "ROS arguments"),
    ] {
        let (code, err) = run(&args);
        assert_eq!(code, Some(1), "{args:?}: {err}");
        assert!(
            err.contains("[FATAL]") && err.contains(want),
            "{args:?}: {err}"
        );
    }
    let _ = MessageTypeName::new("x", "y");
}
