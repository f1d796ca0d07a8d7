// The one table mapping error codes to HTTP statuses. Clients match on the
// code name in the body; the status is what proxies and generic clients see.
//
// Thread-safety: pure function. Errors: none (every code has a status).
#pragma once

#include <ostream>  // Boost 1.81's core/detail/string_view.hpp uses it undeclared

#include <boost/beast/http/status.hpp>

#include "common/error.h"

namespace ragpdf::http {

boost::beast::http::status HttpStatusFor(common::ErrorCode code);

}  // namespace ragpdf::http
