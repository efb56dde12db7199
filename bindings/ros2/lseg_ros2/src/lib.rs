//! The lseg ROS 2 node (`lseg_node`): open-vocabulary segmentation of a camera topic in pure
//! Rust, over ros2-client (RustDDS), so it needs no ROS 2 installation to build or run and
//! talks to rclcpp/rclpy nodes over DDS. Its interface is the ROS 1 node's (private names
//! `~/image`, `~/mask`, `~/color`, `~/overlay`, `~/confidence`, `~/scores/K`,
//! `~/label_info` as `vision_msgs/LabelInfo`, `~/set_labels`); see `bindings/ros2/README.md`.
#![deny(missing_docs)]

pub mod frame;
pub mod labels;
pub mod log;
pub mod msg;
pub mod node;
pub mod ros_args;
pub mod settings;
pub mod stats;
