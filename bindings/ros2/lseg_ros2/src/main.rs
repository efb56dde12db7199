//! `lseg_node --ros-args -p weights:=FILE -p labels:="floor, wall, other" -r image:=TOPIC`

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use lseg_ros2::ros_args::RosArgs;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(sig, stop.clone()) {
            eprintln!("[FATAL] cannot handle signal {sig}: {e}");
            std::process::exit(1);
        }
    }
    let result = RosArgs::parse(&args).and_then(|a| lseg_ros2::node::run(&a, stop));
    if let Err(e) = result {
        eprintln!("[FATAL] [lseg]: {e}");
        std::process::exit(1);
    }
}
