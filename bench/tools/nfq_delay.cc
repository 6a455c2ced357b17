// vodfs-nfq-delay: holds every packet of an NFQUEUE queue for a fixed time
// before accepting it, in arrival order. The benchmark's stand-in for netem
// on kernels without sch_netem: with the queue on both directions of a
// link, RTT grows by twice the delay.
//
//   vodfs-nfq-delay --queue N --delay-ms MS
//
// Only packet metadata is copied to user space (NFQNL_COPY_META) and GSO
// packets stay whole (NFQA_CFG_F_GSO), so the delayer is cheap at line
// rate. Packets the kernel could not queue are dropped, never let through
// early (no fail-open): the delay stays honest, TCP recovers. Runs until
// SIGINT/SIGTERM; prints counts at exit.
#include <arpa/inet.h>
#include <errno.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>

namespace {

volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

int64_t NowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

struct Held {
  uint32_t id;
  int64_t due_ns;
};

struct State {
  std::deque<Held> held;
  int64_t delay_ns = 0;
  uint64_t packets = 0;
  uint64_t max_held = 0;
};

int OnPacket(nfq_q_handle*, nfgenmsg*, nfq_data* nfa, void* data) {
  auto* st = static_cast<State*>(data);
  nfqnl_msg_packet_hdr* ph = nfq_get_msg_packet_hdr(nfa);
  if (!ph) return 0;
  st->held.push_back({ntohl(ph->packet_id), NowNs() + st->delay_ns});
  ++st->packets;
  if (st->held.size() > st->max_held) st->max_held = st->held.size();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int queue = -1;
  double delay_ms = -1;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--queue") queue = std::atoi(argv[i + 1]);
    else if (a == "--delay-ms") delay_ms = std::atof(argv[i + 1]);
  }
  if (queue < 0 || queue > 65535 || delay_ms < 0) {
    std::fprintf(stderr, "usage: vodfs-nfq-delay --queue N --delay-ms MS\n");
    return 2;
  }
  State st;
  st.delay_ns = static_cast<int64_t>(delay_ms * 1e6);

  nfq_handle* h = nfq_open();
  if (!h) {
    std::perror("nfq_open");
    return 1;
  }
  nfq_q_handle* qh = nfq_create_queue(h, static_cast<uint16_t>(queue), &OnPacket, &st);
  if (!qh) {
    std::fprintf(stderr, "cannot bind queue %d (in use? nfnetlink_queue loaded? root?)\n", queue);
    return 1;
  }
  if (nfq_set_mode(qh, NFQNL_COPY_META, 0) < 0) std::perror("nfq_set_mode");
  if (nfq_set_queue_maxlen(qh, 1 << 17) < 0) std::perror("nfq_set_queue_maxlen");
  if (nfq_set_queue_flags(qh, NFQA_CFG_F_GSO, NFQA_CFG_F_GSO) < 0) std::perror("nfq_set_queue_flags (GSO)");
  nfnl_rcvbufsiz(nfq_nfnlh(h), 64u << 20);
  const int fd = nfq_fd(h);

  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  std::fprintf(stderr, "vodfs-nfq-delay: queue %d, %.3f ms per packet\n", queue, delay_ms);
  // Many packets per system call both ways: recvmmsg() takes what has
  // arrived, and one batch verdict accepts every due packet (ids grow with
  // arrival, and packets leave in arrival order).
  constexpr int kBatch = 64;
  static char bufs[kBatch][8192];
  mmsghdr msgs[kBatch];
  iovec iovs[kBatch];
  uint64_t overruns = 0, verdicts = 0;
  while (!g_stop) {
    // Sleep until the next packet is due or another arrives.
    timespec timeout{1, 0};
    if (!st.held.empty()) {
      const int64_t wait = std::max<int64_t>(0, st.held.front().due_ns - NowNs());
      timeout = {static_cast<time_t>(wait / 1000000000), static_cast<long>(wait % 1000000000)};
    }
    pollfd p{fd, POLLIN, 0};
    const int r = ppoll(&p, 1, &timeout, nullptr);
    if (r > 0 && (p.revents & POLLIN)) {
      for (;;) {
        for (int i = 0; i < kBatch; ++i) {
          iovs[i] = {bufs[i], sizeof(bufs[i])};
          msgs[i] = {};
          msgs[i].msg_hdr.msg_iov = &iovs[i];
          msgs[i].msg_hdr.msg_iovlen = 1;
        }
        const int n = recvmmsg(fd, msgs, kBatch, MSG_DONTWAIT, nullptr);
        if (n < 0 && errno == ENOBUFS) {
          ++overruns;  // the kernel dropped what it could not queue to us
          continue;
        }
        if (n <= 0) break;
        for (int i = 0; i < n; ++i) nfq_handle_packet(h, bufs[i], static_cast<int>(msgs[i].msg_len));
        if (n < kBatch) break;
      }
    }
    const int64_t now = NowNs();
    uint32_t last = 0;
    bool any = false;
    while (!st.held.empty() && st.held.front().due_ns <= now) {
      last = st.held.front().id;
      any = true;
      st.held.pop_front();
    }
    if (any) {
      nfq_set_verdict_batch(qh, last, NF_ACCEPT);
      ++verdicts;
    }
  }
  if (!st.held.empty()) nfq_set_verdict_batch(qh, st.held.back().id, NF_ACCEPT);
  nfq_destroy_queue(qh);
  nfq_close(h);
  std::fprintf(stderr, "vodfs-nfq-delay: %llu packets, %llu verdicts, at most %llu held, %llu receive overruns\n",
               static_cast<unsigned long long>(st.packets), static_cast<unsigned long long>(verdicts),
               static_cast<unsigned long long>(st.max_held), static_cast<unsigned long long>(overruns));
  return 0;
}
