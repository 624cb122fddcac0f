// The real libcurl transport against an HTTP server on loopback.
#include "cloud/gcp/curl_transport.h"

#include <httplib.h>

#include <gtest/gtest.h>

#include <set>

#include "core/process.h"
#include <thread>

namespace cloudcoop::gcp {
namespace {

class LoopbackServer {
 public:
  LoopbackServer() {
    server_.set_tcp_nodelay(true);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 2000 && !server_.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~LoopbackServer() {
    server_.stop();
    thread_.join();
  }
  httplib::Server& server() { return server_; }
  std::string Url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

TEST(CurlTransportTest, SendsMethodHeadersAndBodyAndReadsTheAnswer) {
  LoopbackServer s;
  std::string seen;
  auto echo = [&](const httplib::Request& req, httplib::Response& res) {
    seen = req.method + " " + req.path + " auth=" + req.get_header_value("Authorization") + " body=" + req.body;
    res.status = req.method == "DELETE" ? 404 : 200;
    res.set_header("X-Test", "yes");
    res.set_content("{\"ok\":true}", "application/json");
  };
  s.server().Get("/a", echo);
  s.server().Post("/a", echo);
  s.server().Patch("/a", echo);
  s.server().Delete("/a", echo);
  CurlTransport t;
  for (std::string method : {"GET", "POST", "PATCH", "DELETE"}) {
    HttpRequest req;
    req.method = method;
    req.url = s.Url("/a");
    req.headers = {{"Authorization", "Bearer t0k"}};
    if (method != "GET") req.body = "{\"x\":1}";
    auto r = t.Send(req);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->status, method == "DELETE" ? 404 : 200);
    EXPECT_EQ(r->body, "{\"ok\":true}");
    EXPECT_EQ(r->Header("x-test"), "yes");
    EXPECT_EQ(seen, method + " /a auth=Bearer t0k body=" + (method == "GET" ? "" : "{\"x\":1}"));
  }
}

TEST(CurlTransportTest, ReusesTheConnection) {
  LoopbackServer s;
  std::set<int> ports;
  s.server().Get("/p", [&](const httplib::Request& req, httplib::Response& res) {
    ports.insert(req.remote_port);
    res.set_content("x", "text/plain");
  });
  CurlTransport t;
  for (int i = 0; i < 5; ++i) {
    HttpRequest req;
    req.url = s.Url("/p");
    ASSERT_TRUE(t.Send(req).ok());
  }
  EXPECT_EQ(ports.size(), 1u) << "each request opened a new connection";
}

TEST(CurlTransportTest, TimeoutIsDeadlineExceeded) {
  LoopbackServer s;
  s.server().Get("/slow", [](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    res.set_content("late", "text/plain");
  });
  CurlTransport t;
  HttpRequest req;
  req.url = s.Url("/slow");
  req.timeout = std::chrono::milliseconds(200);
  auto r = t.Send(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(r.status().message().find("no complete answer within 0.2s"), std::string::npos) << r.status().message();
}

TEST(CurlTransportTest, RefusedConnectionIsUnavailable) {
  int port;
  {
    LoopbackServer s;  // learn a port that is free once the server is gone
    port = std::stoi(s.Url("").substr(17));
  }
  CurlTransport t;
  HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(port) + "/x";
  auto r = t.Send(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("cannot connect"), std::string::npos) << r.status().message();
}

TEST(CurlTransportTest, DroppedAnswerIsUnavailable) {
  LoopbackServer s;
  s.server().Get("/drop", [](const httplib::Request&, httplib::Response& res) {
    res.set_content_provider(1000, "application/json", [](size_t, size_t, httplib::DataSink&) { return false; });
  });
  CurlTransport t;
  HttpRequest req;
  req.url = s.Url("/drop");
  auto r = t.Send(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("dropped"), std::string::npos) << r.status().message();
}

TEST(CurlTransportTest, MissingLibraryIsAClearError) {
  auto api = LoadCurlLibrary("libcurl-cloudcoop-missing.so.4");
  ASSERT_FALSE(api.ok());
  EXPECT_EQ(api.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(api.status().message().find("loading libcurl-cloudcoop-missing.so.4"), std::string::npos);
  EXPECT_NE(api.status().fix().find("apt-get install libcurl4"), std::string::npos);
  CurlTransport t("libcurl-cloudcoop-missing.so.4");
  HttpRequest req;
  req.url = "http://127.0.0.1:9/";
  auto r = t.Send(req);
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
}

TEST(CurlTransportTest, NotLinkedIntoTheBinary) {
  // ADR 0005: libcurl is loaded on first use only, never asked of the dynamic loader at start.
  const char* bin = std::getenv("CLOUDCOOP_BINARY");
  ASSERT_NE(bin, nullptr);
  ProcessSpec spec;
  spec.argv = {"readelf", "-d", bin};
  auto r = DefaultProcessRunner().Run(spec);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::string out = r->out;
  EXPECT_NE(out.find("NEEDED"), std::string::npos) << out;
  EXPECT_EQ(out.find("libcurl"), std::string::npos) << out;
}

}  // namespace
}  // namespace cloudcoop::gcp
