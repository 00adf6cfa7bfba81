// An executable of one's own that runs an app file as `troupe run` does.
#include <troupe/app/run.hpp>

#include "upper.hpp"

int main(int argc, char** argv) {
  troupe::register_service<upper>("upper", "Upper-cases requests");
  return troupe::app::run_main(argc, argv); // FILE [--set K=V] [--duration D]
}
