#include "ingest/job_scheduler.h"

namespace ragpdf::ingest {

boost::asio::awaitable<JobSlot> LocalJobScheduler::Acquire(JobTicket /*ticket*/) {
  co_await slots_.Acquire();
  co_return JobSlot([this] { slots_.Release(); });
}

}  // namespace ragpdf::ingest
