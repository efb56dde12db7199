"""lseg open-vocabulary segmentation of a camera topic (ROS 2).

    ros2 launch lseg_ros2 lseg.launch.py weights:=/path/lseg_vitl16.safetensors \\
        labels:="floor, wall, person, chair, other" image:=/camera/color/image_raw

Works from a colcon workspace (package lseg_ros2) and, with `ros2 launch
path/to/lseg.launch.py`, with an `lseg_node` on PATH from `cargo install`.
"""

from ament_index_python.packages import PackageNotFoundError, get_package_prefix
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

# (parameter, default, description): one launch argument per node parameter.
PARAMETERS = [
    ("weights", "", "a .safetensors file (lseg convert makes one from demo_e200.ckpt)"),
    ("labels", "floor, wall, person, chair, other", "comma-separated labels (changeable at run time)"),
    ("backend", "default", "default, flex, ndarray, tch, cuda, cuda:N"),
    ("dtype", "f32", "f32, f16, bf16"),
    ("size", "480", "single-scale long side; 0 = the input size"),
    ("mode", "single", "single or multiscale"),
    ("threads", "0", "CPU threads, 0 = all cores"),
    ("min_period", "0.0", "minimum seconds between processed frames (throttle)"),
    ("overlay_alpha", "0.5", "weight of the label colours in ~/overlay"),
    ("palette", "['']", "label colours, a YAML list of #rrggbb (then lseg's palette)"),
    ("publish_scores", "false", "offer ~/scores/label_K (32FC1 logits, computed only while subscribed)"),
]


def generate_launch_description():
    try:
        get_package_prefix("lseg_ros2")
        where = {"package": "lseg_ros2"}
    except PackageNotFoundError:
        where = {}  # `lseg_node` from PATH (cargo install)
    args = [DeclareLaunchArgument(n, default_value=d, description=h) for n, d, h in PARAMETERS]
    args += [
        DeclareLaunchArgument("image", default_value="/camera/image_raw",
                              description="input topic (rgb8, bgr8, rgba8, bgra8, mono8)"),
        DeclareLaunchArgument("node_name", default_value="lseg"),
        DeclareLaunchArgument("namespace", default_value=""),
        DeclareLaunchArgument("log_level", default_value="info"),
    ]
    node = Node(
        executable="lseg_node",
        name=LaunchConfiguration("node_name"),
        namespace=LaunchConfiguration("namespace"),
        output="screen",
        parameters=[{n: LaunchConfiguration(n) for n, _, _ in PARAMETERS}],
        remappings=[("~/image", LaunchConfiguration("image"))],
        ros_arguments=["--log-level", LaunchConfiguration("log_level")],
        **where,
    )
    return LaunchDescription(args + [node])
