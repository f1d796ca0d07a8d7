#include "common/log.h"

#include <string>

namespace ragpdf::common {

void InitLogging(std::string_view level) {
  spdlog::set_level(spdlog::level::from_str(std::string(level)));
  spdlog::set_pattern("ts=%Y-%m-%dT%H:%M:%S.%e level=%l pid=%P %v");
}

}  // namespace ragpdf::common
