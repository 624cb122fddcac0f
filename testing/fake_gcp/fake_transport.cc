#include "testing/fake_gcp/fake_transport.h"

namespace cloudcoop::fakegcp {

StatusOr<gcp::HttpResponse> FakeTransport::Send(const gcp::HttpRequest& req) {
  ++sends_;
  Response r = gcp_->HandleUrl(req.method, req.url, req.headers, req.body);
  if (r.delay > req.timeout) {
    return DeadlineExceededError(req.method + " " + req.url + ": no complete answer within the timeout (fake delay)");
  }
  if (r.drop) {
    return UnavailableError(req.method + " " + req.url + ": the connection dropped before the whole answer arrived (fake)");
  }
  gcp::HttpResponse out;
  out.status = r.status;
  out.headers = r.headers;
  out.body = r.body;
  return out;
}

}  // namespace cloudcoop::fakegcp
