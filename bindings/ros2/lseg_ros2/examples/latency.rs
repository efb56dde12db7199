//! End-to-end latency and frame rate of a running lseg ROS 2 node (`benches/run.sh` starts
//! both): publishes `WxH` rgb8 frames on `/bench/image` at `RATE` Hz for `SECONDS`, matches the
//! masks on `/lseg/mask` by stamp, and prints masks per second and latency (publish to mask
//! received: transport, queue, inference, transport).
//!
//!     latency RATE SECONDS [W H]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use lseg_ros2::msg::{Header, Image, Time};
use lseg_ros2::node::{IMAGE_QOS, OUTPUT_QOS};
use ros2_client::{Context, ContextOptions, Name, NodeName, NodeOptions};

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize, d: f64| a.get(i).map_or(d, |s| s.parse().expect("a number"));
    let (rate, seconds) = (num(0, 5.0), num(1, 30.0));
    let (w, h) = (num(2, 640.0) as u32, num(3, 480.0) as u32);
    let domain = std::env::var("ROS_DOMAIN_ID")
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(0);
    let ctx = Context::with_options(ContextOptions::new().domain_id(domain)).unwrap();
    let mut node = ctx
        .new_node(
            NodeName::new("/", "lseg_latency").unwrap(),
            NodeOptions::new().enable_rosout(false),
        )
        .unwrap();
    let t = node
        .create_topic(
            &Name::parse("/bench/image").unwrap(),
            Image::type_name(),
            &IMAGE_QOS,
        )
        .unwrap();
    let images = node.create_publisher::<Image>(&t, Some(IMAGE_QOS)).unwrap();
    let t = node
        .create_topic(
            &Name::parse("/lseg/mask").unwrap(),
            Image::type_name(),
            &OUTPUT_QOS,
        )
        .unwrap();
    let masks = node
        .create_subscription::<Image>(&t, Some(OUTPUT_QOS))
        .unwrap();
    let spinner = node.spinner().unwrap();
    std::thread::spawn(move || smol::block_on(spinner.spin()));
    let arrived: Arc<Mutex<HashMap<u32, Instant>>> = Arc::default();
    let a2 = arrived.clone();
    std::thread::spawn(move || {
        smol::block_on(async {
            let mut s = std::pin::pin!(masks.async_stream());
            while let Some(Ok((m, _))) = s.next().await {
                a2.lock()
                    .unwrap()
                    .insert(m.header.stamp.nanosec, Instant::now());
            }
        })
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    while images.get_subscription_count(&node) == 0 {
        assert!(
            Instant::now() < deadline,
            "no lseg node subscribed to /bench/image"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(1));

    let data: Vec<u8> = (0..w * h * 3).map(|i| ((i * 7) % 251) as u8).collect();
    let mut sent = HashMap::new();
    let start = Instant::now();
    let period = Duration::from_secs_f64(1.0 / rate);
    let mut seq = 0u32;
    while start.elapsed().as_secs_f64() < seconds {
        seq += 1;
        let msg = Image {
            header: Header {
                stamp: Time {
                    sec: 1,
                    nanosec: seq,
                },
                frame_id: "bench".into(),
            },
            height: h,
            width: w,
            encoding: "rgb8".into(),
            is_bigendian: 0,
            step: w * 3,
            data: data.clone(),
        };
        sent.insert(seq, Instant::now());
        images.publish(msg).unwrap();
        let next = start + period * seq;
        if let Some(d) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(d);
        }
    }
    std::thread::sleep(Duration::from_secs(5)); // the last inference
    let arrived = arrived.lock().unwrap();
    let mut lat: Vec<f64> = sent
        .iter()
        .filter_map(|(s, t0)| arrived.get(s).map(|t1| (*t1 - *t0).as_secs_f64() * 1e3))
        .collect();
    lat.sort_by(f64::total_cmp);
    let n = lat.len();
    assert!(n > 0, "no masks came back");
    let first = arrived.values().min().unwrap();
    let last = arrived.values().max().unwrap();
    let span = (*last - *first).as_secs_f64();
    println!(
        "{{\"offered_hz\": {rate}, \"frames\": {seq}, \"masks\": {n}, \"masks_per_s\": {:.2}, \
         \"latency_ms\": {{\"median\": {:.0}, \"mean\": {:.0}, \"max\": {:.0}}}, \"size\": [{w}, {h}]}}",
        if span > 0.0 {
            (n - 1) as f64 / span
        } else {
            0.0
        },
        lat[n / 2],
        lat.iter().sum::<f64>() / n as f64,
        lat[n - 1]
    );
}
