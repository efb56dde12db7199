//! The ROS 2 interface types the node speaks, as serde structs in the field order of their
//! `.msg`/`.srv` definitions (CDR, the DDS wire format, is that order). Names follow ROS 2:
//! `package/msg/Type` on the wire as `package::msg::dds_::Type_`.

use ros2_client::{Message, MessageTypeName, ServiceTypeName};
use serde::{Deserialize, Serialize};

/// `builtin_interfaces/msg/Time`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Time {
    /// Seconds.
    pub sec: i32,
    /// Nanoseconds within the second.
    pub nanosec: u32,
}

impl Time {
    /// The system clock now.
    pub fn now() -> Self {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Self {
            sec: d.as_secs() as i32,
            nanosec: d.subsec_nanos(),
        }
    }
}

/// `std_msgs/msg/Header`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Acquisition time.
    pub stamp: Time,
    /// Coordinate frame.
    pub frame_id: String,
}

/// `sensor_msgs/msg/Image`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// Stamp and frame of the camera.
    pub header: Header,
    /// Rows.
    pub height: u32,
    /// Columns.
    pub width: u32,
    /// Pixel encoding (`rgb8`, `mono16`, `32FC1`, ...).
    pub encoding: String,
    /// 1 if multi-byte values are big-endian.
    pub is_bigendian: u8,
    /// Bytes per row.
    pub step: u32,
    /// `step * height` bytes.
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
}
impl Message for Image {}

impl Image {
    /// The wire type name.
    pub fn type_name() -> MessageTypeName {
        MessageTypeName::new("sensor_msgs", "Image")
    }
}

/// `vision_msgs/msg/VisionClass`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisionClass {
    /// Index of the class in the label map.
    pub class_id: u16,
    /// The label text.
    pub class_name: String,
}

/// `vision_msgs/msg/LabelInfo`: the meaning of the mask's values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LabelInfo {
    /// Stamp of the label change; `frame_id` is empty.
    pub header: Header,
    /// One entry per label, `class_id` = the mask value.
    pub class_map: Vec<VisionClass>,
    /// Score threshold (0: every pixel gets its arg-max label).
    pub threshold: f32,
}
impl Message for LabelInfo {}

impl LabelInfo {
    /// The wire type name.
    pub fn type_name() -> MessageTypeName {
        MessageTypeName::new("vision_msgs", "LabelInfo")
    }
}

/// `lseg_msgs/srv/SetLabels` request: the new label set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetLabelsRequest {
    /// Labels, in mask order.
    pub labels: Vec<String>,
}
impl Message for SetLabelsRequest {}

/// `lseg_msgs/srv/SetLabels` response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetLabelsResponse {
    /// Whether the set is now in use.
    pub success: bool,
    /// "ok" or why the set was refused.
    pub message: String,
    /// Version of the label set in use (bumped on every change).
    pub version: u32,
}
impl Message for SetLabelsResponse {}

/// The wire type name of the `set_labels` service.
pub fn set_labels_type() -> ServiceTypeName {
    ServiceTypeName::new("lseg_msgs", "SetLabels")
}

/// `diagnostic_msgs/msg/KeyValue`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValue {
    /// Name.
    pub key: String,
    /// Value as text.
    pub value: String,
}

/// `diagnostic_msgs/msg/DiagnosticStatus`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiagnosticStatus {
    /// 0 OK, 1 WARN, 2 ERROR, 3 STALE.
    pub level: u8,
    /// "node: task".
    pub name: String,
    /// Summary.
    pub message: String,
    /// Hardware the status is about.
    pub hardware_id: String,
    /// Details.
    pub values: Vec<KeyValue>,
}

/// `diagnostic_msgs/msg/DiagnosticArray` (the `/diagnostics` topic).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiagnosticArray {
    /// Time of the report.
    pub header: Header,
    /// One status per task.
    pub status: Vec<DiagnosticStatus>,
}
impl Message for DiagnosticArray {}

impl DiagnosticArray {
    /// The wire type name.
    pub fn type_name() -> MessageTypeName {
        MessageTypeName::new("diagnostic_msgs", "DiagnosticArray")
    }
}
