// One TCP connection's control block and its RFC 9293 state machine, with no I/O
// and no clock.
//
//   Context ctx{cfg, outbox, counters, budget, isn, cookies, bufs};
//   Connection c(tuple);
//   (void)c.connect(ctx, now);                 // SYN goes to ctx.out
//   c.on_segment(ctx, now, repr, payload_buf); // for every segment of this 4-tuple
//   if (now >= c.next_deadline()) c.on_deadline(ctx, now);
//   for (auto& s : outbox.segments()) transmit(s);   // payload borrowed from send buffers
//   for (auto& e : outbox.events()) notify(e);       // Closed => the TCB may be freed
//   stack.done_with_output();                        // outbox cleared, released buffers freed
//
// Segment processing follows RFC 9293 §3.10.7 step by step (the code quotes each
// step), hardened by RFC 5961 and with RFC 7323 timestamps and window scaling.
// Data transfer: payload stays in the buffers it arrived in or was written in
// (buffer.hpp), an out-of-order queue with overlap trimming, delayed ACKs, Nagle and
// silly-window avoidance on both sides, zero-window probing, RFC 6298 retransmission
// with a user timeout, congestion control behind cc/congestion.hpp (NewReno), and
// keepalive.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string_view>

#include "ustcp/base/addr.hpp"
#include "ustcp/base/result.hpp"
#include "ustcp/base/seqnum.hpp"
#include "ustcp/base/time.hpp"
#include "ustcp/tcp/buffer.hpp"
#include "ustcp/tcp/cc/congestion.hpp"
#include "ustcp/tcp/context.hpp"
#include "ustcp/tcp/recv_queue.hpp"
#include "ustcp/tcp/send_queue.hpp"
#include "ustcp/tcp/rtt.hpp"
#include "ustcp/tcp/sack.hpp"
#include "ustcp/tcp/state.hpp"
#include "ustcp/wire/tcp.hpp"

namespace ustcp::tcp {

class Listener;

/// RFC 9293 §3.10.7.1: the reply to a segment for which no connection exists
/// (CLOSED): <SEQ=SEG.ACK><CTL=RST> if it has ACK, else <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
/// Never a RST in answer to a RST (nullopt). Ports are swapped for the reply.
std::optional<wire::TcpRepr> reset_for(const wire::TcpRepr& seg, std::size_t payload_len) noexcept;

/// Queues the reset_for() reply to `seg` (from `tuple`, our side first) and counts it.
/// Returns false when no reply is due (`seg` is a RST).
bool send_reset_for(Context& ctx, const FourTuple& tuple, const wire::TcpRepr& seg, std::size_t payload_len) noexcept;

/// A segment for `tuple` found no connection and no listener (CLOSED): counts it and
/// answers it with send_reset_for().
void reply_closed(Context& ctx, const FourTuple& tuple, const wire::TcpRepr& seg, std::size_t payload_len) noexcept;

/// Copies `payload` into a buffer from ctx.bufs (the copying calls' path). An empty BufRef
/// when `payload` is empty, or when no buffer large enough could be had (counted as
/// drop_no_buffer).
BufRef copy_in(Context& ctx, wire::Bytes payload) noexcept;

/// The window-scale shift that lets a 16-bit window describe `buffer` bytes (RFC 7323 §2.3, at most 14).
std::uint8_t window_shift_for(std::size_t buffer) noexcept;

/// Per-connection random offset of our timestamp clock (RFC 7323 §5.4), stable for a 4-tuple.
std::uint32_t ts_offset_for(const Context& ctx, const FourTuple& t) noexcept;

/// Our TSval at `now`: a 1 ms clock plus the connection's offset.
inline std::uint32_t ts_clock(Instant now, std::uint32_t offset) noexcept {
    return static_cast<std::uint32_t>(now.nanos() / 1'000'000) + offset;
}

inline constexpr Instant kNever = Instant::from_nanos(std::numeric_limits<std::int64_t>::max());

/// Per-connection counters (the `ss -ti` view); the engine may sum them per lcore.
struct ConnStats {
    std::uint64_t bytes_in = 0;           ///< payload bytes accepted in sequence (RCV.NXT moved)
    std::uint64_t bytes_out = 0;          ///< new payload bytes sent (retransmissions not counted)
    std::uint64_t bytes_retrans = 0;      ///< payload bytes sent again
    std::uint64_t bytes_acked = 0;        ///< payload bytes the peer acknowledged
    std::uint32_t segs_in = 0;
    std::uint32_t segs_out = 0;
    std::uint32_t data_segs_in = 0;
    std::uint32_t data_segs_out = 0;
    std::uint32_t retrans_timeout = 0;    ///< segments resent after an RTO
    std::uint32_t retrans_fast = 0;       ///< segments resent on the 3rd duplicate ACK or a partial ACK
    std::uint32_t rto_expiries = 0;
    std::uint32_t dup_acks_in = 0;        ///< duplicate ACKs received (RFC 5681 §2)
    std::uint32_t dup_acks_out = 0;       ///< immediate ACKs sent for out-of-order data
    std::uint32_t ooo_segs = 0;           ///< segments that arrived beyond RCV.NXT
    std::uint32_t window_probes = 0;      ///< zero-window probes sent
    std::uint32_t keepalives = 0;         ///< keepalive probes sent
    std::uint32_t delayed_acks = 0;       ///< ACKs sent by the delayed-ACK timer
    std::uint32_t no_buffer_drops = 0;    ///< payload dropped for want of a BufNode or buffer
    // Loss recovery with SACK (each also summed into Counters).
    std::uint32_t sack_recoveries = 0;    ///< RFC 6675 recovery episodes
    std::uint32_t rack_loss_marked = 0;   ///< ranges RACK marked lost
    std::uint32_t tlp_sent = 0;           ///< tail-loss probes
    std::uint32_t spurious_undos = 0;     ///< reductions undone (D-SACK)
    std::uint32_t dsacks_in = 0;          ///< D-SACK blocks received
    std::uint32_t dsacks_out = 0;         ///< D-SACK blocks sent
    std::uint32_t nextseg3_retransmits = 0;  ///< RFC 6675 NextSeg (3) resends of holes not deemed lost
    std::uint32_t rescue_retransmits = 0;    ///< RFC 6675 NextSeg (4) rescue retransmissions
    std::uint64_t bytes_sacked = 0;       ///< payload bytes the peer SACKed
};

/// A one-line summary in the manner of `ss -ti`, built without allocation.
struct ConnSummary {
    std::array<char, 320> buf{};
    std::size_t len = 0;
    [[nodiscard]] std::string_view view() const noexcept { return {buf.data(), len}; }
};

class Connection {
public:
    /// `tuple` names the connection from our side. Buffer limits come from the Context's
    /// Config at open time (send_buffer, recv_buffer); payload buffers from Context::bufs.
    explicit Connection(const FourTuple& tuple) noexcept;

    // ---- User calls (RFC 9293 §3.10.1 - §3.10.6) ----

    /// Active OPEN: CLOSED -> SYN-SENT, sends SYN. Errors: InvalidState if not CLOSED, or if
    /// this TCB was opened before (once CLOSED it is deleted: open a new Connection).
    Result<void, Error> connect(Context& ctx, Instant now) noexcept;
    /// SEND (copying): copies what fits in the send buffer into buffers from Context::bufs
    /// and transmits what the windows, Nagle and SWS avoidance allow. Returns bytes queued.
    /// Errors: NotConnected (CLOSED/LISTEN), BrokenPipe (our side shut down), WouldBlock
    /// (buffer full, or no buffer could be had), ConnectionReset/Refused/TimedOut (failed).
    Result<std::size_t, Error> send(Context& ctx, Instant now, wire::Bytes data) noexcept;
    /// SEND (zero copy): queues the whole buffer `buf`, which the connection owns on success
    /// (freed through Context::bufs once acknowledged). It is taken when it fits in the
    /// free send buffer, or when nothing is queued. On error the caller keeps `buf`.
    /// Errors: as send(Bytes); WouldBlock also when no BufNode is left.
    Result<std::size_t, Error> send_buf(Context& ctx, Instant now, BufRef buf) noexcept;
    /// Every PSH boundary: the last segment of each write carries PSH. Nagle holds a short
    /// segment while data is unacknowledged unless this is set (TCP_NODELAY).
    void set_nodelay(Context& ctx, Instant now, bool on) noexcept;
    /// TCP_CONGESTION: the congestion control this connection gets at ESTABLISHED instead of
    /// Config::cc's algorithm (the tunables still come from Config::cc). Takes effect only when
    /// called before the handshake completes, i.e. after connect() for an active open; passive
    /// opens get Config::cc's. Later calls change nothing for this connection.
    void set_congestion_control(cc::Algorithm a) noexcept { cc_choice_ = a; cc_chosen_ = true; }
    [[nodiscard]] bool nodelay() const noexcept { return nodelay_; }
    /// Keepalive on/off for this connection (SO_KEEPALIVE); idle/interval/count from Config.
    void set_keepalive(const Context& ctx, Instant now, bool on) noexcept;
    [[nodiscard]] bool keepalive() const noexcept { return keepalive_; }
    /// TCP_QUICKACK: on, the next Config::quickack data segments are ACKed at once; off, ACKs
    /// are delayed from the next segment on (Linux's "pingpong" mode).
    void set_quickack(const Context& ctx, bool on) noexcept { quickack_left_ = on ? ctx.cfg.quickack : 0; }
    /// RECEIVE: copies in-order data out. Returns 0 at end of stream (peer closed).
    /// Errors: WouldBlock (nothing yet), NotConnected, or the connection's failure.
    Result<std::size_t, Error> receive(Context& ctx, Instant now, wire::MutBytes out) noexcept;
    /// RECEIVE without consuming (MSG_PEEK): copies in-order data from `skip` bytes in.
    [[nodiscard]] std::size_t peek(std::size_t skip, wire::MutBytes out) const noexcept {
        return rcvq_.peek(skip, out);
    }
    /// RECEIVE (zero copy): moves whole in-order buffers to the caller, who frees each
    /// handle through its own pool. Returns the number of entries of `out` filled; errors
    /// as receive() when none.
    Result<std::size_t, Error> receive_bufs(Context& ctx, Instant now, std::span<BufRef> out) noexcept;
    /// Half-close: FIN after queued data; we keep receiving (FIN-WAIT-1/2, or LAST-ACK from
    /// CLOSE-WAIT). Errors: NotConnected, Closing (already shut down).
    Result<void, Error> shutdown_write(Context& ctx, Instant now) noexcept;
    /// CLOSE: as shutdown_write, but the application reads no more: unread or later data
    /// resets the connection (RFC 9293 §3.10.4, RFC 2525 §2.17). In SYN-SENT the TCB is deleted.
    Result<void, Error> close(Context& ctx, Instant now) noexcept;
    /// ABORT: RST in synchronized states, queued data discarded, CLOSED at once.
    void abort(Context& ctx, Instant now) noexcept;

    // ---- Arrivals ----

    /// SEGMENT ARRIVES for this 4-tuple. `seg` is the parsed header with options; the
    /// connection owns `payload` (its handle may be null when there is no payload) and keeps
    /// it as it is, trimmed, or hands it back to Context::bufs.
    void on_segment(Context& ctx, Instant now, const wire::TcpRepr& seg, BufRef payload) noexcept;
    /// As above, copying `payload` into a buffer from Context::bufs first (tests, tools).
    void on_segment(Context& ctx, Instant now, const wire::TcpRepr& seg, wire::Bytes payload) noexcept;
    /// Sends the bare ACK on_segment() left pending under Context::defer_acks, unless data or
    /// a FIN sent since carried it.
    void flush_ack(Context& ctx, Instant now) noexcept {
        if (ack_now_ && state_ != State::Closed) send_ack(ctx, now);
    }
    [[nodiscard]] bool ack_pending() const noexcept { return ack_now_; }
    /// Timers due at or before `now`: retransmission, delayed ACK, persist, keepalive, TIME-WAIT.
    void on_deadline(Context& ctx, Instant now) noexcept;
    /// When on_deadline next has work; kNever if none.
    [[nodiscard]] Instant next_deadline() const noexcept;

    // ---- Passive open, driven by Listener ----

    /// LISTEN got `syn`: enter SYN-RECEIVED and send SYN-ACK.
    /// `iss` overrides the RFC 6528 ISN (a new incarnation replacing a TIME-WAIT TCB).
    void accept_syn(Context& ctx, Instant now, const wire::TcpRepr& syn, Listener* listener,
                    std::optional<SeqNum> iss = std::nullopt) noexcept;
    /// A valid SYN-cookie ACK: create the connection directly in ESTABLISHED.
    void accept_cookie(Context& ctx, Instant now, const wire::TcpRepr& ack, BufRef payload,
                       const SynCookieOptions& opts, Listener* listener) noexcept;
    /// As above, copying `payload` into a buffer from Context::bufs first.
    void accept_cookie(Context& ctx, Instant now, const wire::TcpRepr& ack, wire::Bytes payload,
                       const SynCookieOptions& opts, Listener* listener) noexcept;
    /// In TIME-WAIT, whether `syn` starts a new incarnation of this 4-tuple (RFC 9293
    /// §3.10.7.4 note, RFC 6191): its timestamp, or else its sequence number, is newer.
    [[nodiscard]] bool time_wait_accepts_syn(const wire::TcpRepr& syn) const noexcept;
    /// ISS a new incarnation should use so its sequence space lies beyond this one's.
    [[nodiscard]] SeqNum next_incarnation_iss() const noexcept { return snd_nxt_ + 65535 + 2; }
    /// The demux's TIME-WAIT step: when this TCB is in TIME-WAIT and `seg` is a bare SYN of a
    /// new incarnation (time_wait_accepts_syn), deletes this TCB and returns the ISS the new
    /// connection must pass to accept_syn(); otherwise nullopt and nothing changes.
    std::optional<SeqNum> end_time_wait_for(Context& ctx, Instant now, const wire::TcpRepr& seg) noexcept;

    // ---- Status ----
    [[nodiscard]] State state() const noexcept { return state_; }
    [[nodiscard]] const FourTuple& tuple() const noexcept { return tuple_; }
    [[nodiscard]] SeqNum iss() const noexcept { return iss_; }
    [[nodiscard]] SeqNum irs() const noexcept { return irs_; }
    [[nodiscard]] SeqNum snd_una() const noexcept { return snd_una_; }
    [[nodiscard]] SeqNum snd_nxt() const noexcept { return snd_nxt_; }
    [[nodiscard]] std::uint32_t snd_wnd() const noexcept { return snd_wnd_; }
    [[nodiscard]] SeqNum rcv_nxt() const noexcept { return rcv_nxt_; }
    [[nodiscard]] std::uint32_t rcv_wnd() const noexcept;
    [[nodiscard]] std::uint16_t snd_mss() const noexcept { return snd_mss_; }
    [[nodiscard]] bool timestamps_on() const noexcept { return ts_ok_; }
    [[nodiscard]] bool sack_permitted() const noexcept { return sack_ok_; }
    [[nodiscard]] std::uint8_t snd_wscale() const noexcept { return snd_wscale_; }
    [[nodiscard]] std::uint8_t rcv_wscale() const noexcept { return rcv_wscale_; }
    /// The retransmission timer's estimator: SRTT, RTTVAR, RTO and backoff (RFC 6298).
    [[nodiscard]] const RttEstimator& rtt() const noexcept { return rtt_; }
    [[nodiscard]] std::size_t bytes_readable() const noexcept { return rcvq_.readable(); }
    [[nodiscard]] std::size_t send_queued() const noexcept { return sndq_.size(); }
    /// Free room in the send buffer (what a copying send() would take now).
    [[nodiscard]] std::size_t send_space() const noexcept {
        return sndq_.size() >= snd_buf_ ? 0 : snd_buf_ - sndq_.size();
    }
    /// The receive side's queues (in order and out of order).
    [[nodiscard]] const RecvQueue& recv_queue() const noexcept { return rcvq_; }
    [[nodiscard]] SeqNum snd_max() const noexcept { return snd_nxt_; }
    [[nodiscard]] const cc::CongestionControl& congestion() const noexcept { return cc_; }
    [[nodiscard]] const ConnStats& stats() const noexcept { return stats_; }
    /// The SACK sender's recovery state while one is borrowed (data in flight, SACK on).
    [[nodiscard]] const SenderSack* sack_state() const noexcept { return sack_; }
    /// RACK-TLP is on for this connection (Config::rack and SACK negotiated).
    [[nodiscard]] bool rack_on() const noexcept { return rack_on_; }
    /// `ss -ti`-like: state, rto, rtt/rttvar, mss, cwnd, ssthresh, bytes, segments, retransmits...
    [[nodiscard]] ConnSummary summary() const noexcept;
    /// Releases every buffer this TCB holds (the engine, before freeing a TCB it tears down).
    void release_buffers(Context& ctx) noexcept;
    /// Drops the out-of-order queue to give its buffers back (memory pressure: the engine
    /// calls it when buffers ran out). What it held may have been SACKed: RFC 2018 §8 allows
    /// this reneging when buffers run out, and a sender keeps SACKed data until it is
    /// cumulatively acknowledged (and forgets SACKs on an RTO). Returns segments.
    std::size_t prune_ooo(Context& ctx) noexcept;
    [[nodiscard]] bool peer_closed() const noexcept { return fin_received_; }
    /// A send found no room (send buffer, buffer node or pool buffer): Writable comes when
    /// room returns.
    [[nodiscard]] bool write_blocked() const noexcept { return write_blocked_; }
    /// The failure that ended the connection, if it failed.
    [[nodiscard]] const std::optional<Error>& failure() const noexcept { return failure_; }
    [[nodiscard]] Listener* listener() const noexcept { return listener_; }

    /// Intrusive link for a listener's accept queue.
    Connection* accept_next = nullptr;

private:
    friend class Listener;

    // Steps of §3.10.7.4 for synchronized states and SYN-RECEIVED; each returns
    // false when processing of the segment ends there.
    /// What is left of an arriving segment after trimming it to the window.
    struct Arrival {
        SeqNum seq;           // sequence number of payload[0]
        wire::Bytes payload;
        bool fin;
        bool syn;             // cleared when the SYN is a duplicate trimmed off the front
    };
    bool check_sequence(Context& ctx, Instant now, const wire::TcpRepr& seg, Arrival& a) noexcept;
    void check_rst(Context& ctx, Instant now, const wire::TcpRepr& seg) noexcept;
    void check_syn(Context& ctx, Instant now) noexcept;
    bool process_ack(Context& ctx, Instant now, const wire::TcpRepr& seg, std::size_t payload_len) noexcept;
    bool process_text(Context& ctx, Instant now, Arrival& a, BufRef& buf) noexcept;
    void process_fin(Context& ctx, Instant now) noexcept;
    [[nodiscard]] bool fin_acked() const noexcept { return fin_sent_ && snd_una_ == snd_nxt_; }
    /// Our SYN has been acknowledged. False in SYN-SENT/SYN-RECEIVED, and in a FIN-WAIT-1
    /// entered by CLOSE from SYN-RECEIVED before the handshake's final ACK arrived.
    [[nodiscard]] bool handshake_done() const noexcept { return syn_acked_; }
    void on_segment_syn_sent(Context& ctx, Instant now, const wire::TcpRepr& seg) noexcept;
    void on_data_acked(Context& ctx, Instant now, const wire::TcpRepr& seg, std::uint32_t acked,
                       std::uint32_t flight) noexcept;
    void on_duplicate_ack(Context& ctx, Instant now) noexcept;
    void retransmit_first(Context& ctx, Instant now) noexcept;
    // SACK sender (RFC 6675, RFC 8985); sack_ is non-null in all of them.
    void sack_on_ack(Context& ctx, Instant now, const wire::TcpRepr& seg, SeqNum old_una, bool dup) noexcept;
    void detect_losses(Context& ctx, Instant now) noexcept;
    void enter_sack_recovery(Context& ctx, Instant now) noexcept;
    void sack_retransmit(Context& ctx, Instant now, SeqRange r) noexcept;
    void sack_output(Context& ctx, Instant now) noexcept;
    bool sack_nextseg_resend(Context& ctx, Instant now) noexcept;  // NextSeg (3) and (4)
    void on_dsack(Context& ctx, Instant now, SeqRange r) noexcept;
    void undo(Context& ctx, Instant now) noexcept;
    void arm_pto(Instant now) noexcept;
    void on_loss_timer(Context& ctx, Instant now) noexcept;
    void send_tlp(Context& ctx, Instant now) noexcept;
    void release_sack(Context& ctx) noexcept;
    void note_dsack_rx(SeqNum l, SeqNum r) noexcept {
        if (sack_ok_ && l < r) sack_rx_.on_duplicate(l, r);
    }
    void on_rto(Context& ctx, Instant now) noexcept;
    void on_persist(Context& ctx, Instant now) noexcept;
    void on_keepalive(Context& ctx, Instant now) noexcept;
    void schedule_ack(Context& ctx, Instant now, std::uint32_t seg_len) noexcept;
    void maybe_window_update(Context& ctx, Instant now, std::uint32_t before) noexcept;
    [[nodiscard]] Result<std::size_t, Error> nothing_to_read() const noexcept;

    void negotiate_options(const Config& cfg, const wire::TcpOptions& peer) noexcept;
    void take_config(const Config& cfg) noexcept;
    void update_timestamp(const wire::TcpRepr& seg) noexcept;
    void update_send_window(const wire::TcpRepr& seg) noexcept;

    // Output.
    void output(Context& ctx, Instant now) noexcept;
    void send_syn(Context& ctx, Instant now, bool with_ack) noexcept;
    void send_ack(Context& ctx, Instant now) noexcept;
    void send_challenge_ack(Context& ctx, Instant now) noexcept;
    void send_rst(Context& ctx, SeqNum seq) noexcept;
    void emit(Context& ctx, Instant now, std::uint8_t flags, SeqNum seq, std::size_t data_off, std::size_t len) noexcept;
    /// Sends one segment of queued data from `seq`: at most `max_len` bytes, PSH on the last
    /// byte of a write, FIN when it reaches a queued FIN. What lies below SND.NXT is a resend;
    /// SND.NXT moves to the segment's end if that is beyond it. Returns the sequence space used.
    std::uint32_t send_data(Context& ctx, Instant now, SeqNum seq, std::uint32_t max_len) noexcept;
    [[nodiscard]] std::uint32_t free_recv_space() const noexcept;
    [[nodiscard]] SeqNum data_end() const noexcept { return snd_una_ + sndq_.size(); }
    [[nodiscard]] std::uint16_t advertised_window() const noexcept;
    [[nodiscard]] std::uint32_t ts_now(Instant now) const noexcept;

    // Transitions.
    void enter_established(Context& ctx, Instant now) noexcept;
    void enter_time_wait(Context& ctx, Instant now) noexcept;
    void fail(Context& ctx, Error e) noexcept;
    void enter_closed(Context& ctx) noexcept;
    void arm_rtx(Instant now) noexcept;
    void arm_persist(const Context& ctx, Instant now) noexcept;
    void rearm_keepalive(const Context& ctx, Instant now) noexcept;
    void start_cc(Context& ctx) noexcept;

    FourTuple tuple_;
    State state_ = State::Closed;
    bool passive_ = false;          // opened by a listener
    bool fin_queued_ = false;       // user shut down the write side
    bool fin_sent_ = false;
    bool fin_received_ = false;
    bool app_closed_ = false;       // close(): no more reads
    bool ack_now_ = false;          // an ACK is owed at the end of this call
    bool ts_ok_ = false;
    bool sack_ok_ = false;
    bool ws_ok_ = false;
    bool cookie_ = false;           // created from a SYN cookie: never in the SYN-RECEIVED set
    bool opened_ = false;           // has left CLOSED once: a closed TCB is deleted and never reopens
    bool syn_acked_ = false;        // SND.UNA has passed our SYN. A flag, not SND.UNA == ISS: that
                                    // holds again after 2^32 - 1 bytes of acknowledged data
    std::uint8_t snd_wscale_ = 0;   // applied to the peer's SEG.WND
    std::uint8_t rcv_wscale_ = 0;   // applied to our advertised window
    bool nodelay_ = false;
    bool keepalive_ = false;
    bool write_blocked_ = false;    // a send found the buffer full: Writable when room returns
    bool fin_ooo_ = false;          // a FIN arrived beyond RCV.NXT: at fin_seq_
    bool cc_started_ = false;
    bool cc_chosen_ = false;                        ///< set_congestion_control() was called
    cc::Algorithm cc_choice_ = cc::Algorithm::Cubic;
    bool rack_on_ = false;          // RACK-TLP: Config::rack and SACK negotiated
    std::uint8_t rtx_count_ = 0;
    std::uint8_t persist_backoff_ = 0;
    std::uint8_t persist_unanswered_ = 0;  // zero-window probes sent since the peer last ACKed
    std::uint8_t keepalive_sent_ = 0;
    std::uint8_t quickack_left_ = 0;  // data segments still to be ACKed at once (Config::quickack)
    std::uint16_t snd_mss_ = 536;
    std::uint16_t rcv_mss_ = 536;   // largest segment payload seen: "full-sized" for delayed ACK
    std::optional<Error> failure_;

    // Send sequence variables (RFC 9293 §3.3.1).
    // SND.NXT is the highest sequence number sent (BSD's SND.MAX); after an RTO, go-back-N
    // resends from snd_rxt_ up to it before new data goes out.
    SeqNum iss_, snd_una_, snd_nxt_, snd_wl1_, snd_wl2_, snd_rxt_;
    SeqNum snd_sml_;                // end of the last short segment sent (Nagle, Minshall's variant)
    std::uint32_t snd_wnd_ = 0;
    std::uint32_t max_snd_wnd_ = 0;
    // Receive sequence variables.
    SeqNum irs_, rcv_nxt_;
    SeqNum rcv_adv_;                // RCV.NXT + the window last advertised: never moves left
    SeqNum last_ack_sent_;          // RFC 7323 Last.ACK.sent
    SeqNum fin_seq_;                // an out-of-order FIN's sequence number (fin_ooo_)
    std::uint32_t snd_buf_ = 0;     // send buffer limit, bytes
    std::uint32_t rcv_buf_ = 0;     // receive buffer limit, bytes
    // Timestamps (RFC 7323 §4.3).
    std::uint32_t ts_recent_ = 0;
    SackReceiver sack_rx_;          // the SACK blocks our ACKs report (RFC 2018 §4, RFC 2883)

    // Timers as values.
    RttEstimator rtt_;             // SRTT/RTTVAR/RTO with backoff (RFC 6298)
    Instant rtx_deadline_ = kNever;
    Instant time_wait_deadline_ = kNever;
    Instant delack_deadline_ = kNever;
    Instant persist_deadline_ = kNever;
    Instant keepalive_deadline_ = kNever;
    Instant loss_deadline_ = kNever;  // RACK reorder timer or TLP's PTO (SenderSack::deadline_is_pto)
    Instant last_send_;             // last data transmission (RFC 5681 §4.1 restart after idle)
    Instant unacked_since_;
    Instant persist_since_;         // first unanswered zero-window probe (user timeout)         // when SND.UNA last moved or data went out with none in flight (user timeout)
    Instant challenge_window_;
    std::uint16_t challenge_used_ = 0;
    std::uint32_t ts_offset_ = 0;   // RFC 7323 §5.4 per-connection TSval offset (here to fill padding)

    Listener* listener_ = nullptr;
    cc::CongestionControl cc_{cc::NewReno(cc::Init{})};
    SenderSack* sack_ = nullptr;  // borrowed from Context::sacks while sending with SACK
    SendQueue sndq_;  // from SND.UNA onwards: unacknowledged, then unsent
    RecvQueue rcvq_;  // in-order data not yet read, then the out-of-order queue
    ConnStats stats_;
};

}  // namespace ustcp::tcp
