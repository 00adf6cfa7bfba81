// The same type as a plugin: `[app] plugins = ["libconsumer_upper.so"]`.
#include "upper.hpp"

TROUPE_PLUGIN(reg) {
  reg.add(troupe::service_type_of<upper>("upper", "Upper-cases requests"));
}
