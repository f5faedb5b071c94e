// The Catch2 main of the C++ test suite.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
