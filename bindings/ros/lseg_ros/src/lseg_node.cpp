// Standalone lseg node: loads lseg_ros/LsegNodelet into its own process (same parameters and
// topics, in the node's private namespace).
#include <nodelet/loader.h>
#include <ros/ros.h>

int main(int argc, char **argv) {
  ros::init(argc, argv, "lseg");
  nodelet::Loader loader;
  nodelet::M_string remap(ros::names::getRemappings());
  nodelet::V_string args(argv + 1, argv + argc);
  if (!loader.load(ros::this_node::getName(), "lseg_ros/LsegNodelet", remap, args)) return 1;
  ros::spin();
  return 0;
}
