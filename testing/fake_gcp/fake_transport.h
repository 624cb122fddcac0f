// An in-process REST transport answered by a FakeGcp: no sockets, no waiting. A delay fault longer
// than the request's timeout becomes kDeadlineExceeded (after the fake has applied the request, as
// a slow real server would); a drop fault becomes kUnavailable.
#ifndef CLOUDCOOP_TESTING_FAKE_GCP_FAKE_TRANSPORT_H_
#define CLOUDCOOP_TESTING_FAKE_GCP_FAKE_TRANSPORT_H_

#include <atomic>

#include "cloud/gcp/http.h"
#include "testing/fake_gcp/fake_gcp.h"

namespace cloudcoop::fakegcp {

class FakeTransport : public gcp::HttpTransport {
 public:
  explicit FakeTransport(FakeGcp* gcp) : gcp_(gcp) {}
  StatusOr<gcp::HttpResponse> Send(const gcp::HttpRequest& request) override;
  int sends() const { return sends_; }

 private:
  FakeGcp* gcp_;
  std::atomic<int> sends_{0};
};

// The base URL to use with a FakeTransport (any loopback URL works; nothing listens there).
inline constexpr char kFakeTransportBase[] = "http://127.0.0.1:9";

}  // namespace cloudcoop::fakegcp

#endif  // CLOUDCOOP_TESTING_FAKE_GCP_FAKE_TRANSPORT_H_
