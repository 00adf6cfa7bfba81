// The one translation unit of troupe-actors-test that instantiates the CAF
// unit-test engine (and its main).
#define CAF_TEST_NO_MAIN
#include <caf/test/unit_test_impl.hpp>

#include "troupe/actors/init.hpp"

int main(int argc, char** argv) {
  troupe::init_logging_for_tests();
  return caf::test::main(argc, argv);
}
