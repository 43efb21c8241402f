// Fuzzes what ustcp-perf and --app perf parse from the wire (apps/perf): the perf header, the
// server's state machine fed an arbitrary stream, and the HTTP response reader. Beyond ASan,
// it checks their promises: an accepted header encodes back to the same 16 bytes; the server
// refuses exactly the streams whose first 16 bytes the parser refuses, never answers more
// than the requests it read ask for, and ends at the stream's end; the reader never consumes
// more than it is given and says why it failed.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "protocol.hpp"
#include "workload.hpp"

using namespace ustcp::perf;

namespace {

/// The client's side of one connection: the fuzz input, then its FIN; answers are counted.
class StreamIo final : public Io {
public:
    StreamIo(std::span<const std::uint8_t> in, std::size_t chunk) : in_(in), chunk_(chunk) {}
    IoResult send(std::span<const std::uint8_t> b) override {
        if (sent + b.size() > (1u << 26)) return {0, IoStatus::WouldBlock};  // a full send buffer, at 64 MiB
        sent += b.size();
        return {b.size(), IoStatus::Ok};
    }
    IoResult recv(std::span<std::uint8_t> b) override {
        if (off_ == in_.size()) return {0, IoStatus::Eof};
        const std::size_t n = std::min({b.size(), in_.size() - off_, chunk_});
        std::memcpy(b.data(), in_.data() + off_, n);
        off_ += n;
        return {n, IoStatus::Ok};
    }
    std::uint64_t sent = 0;

private:
    std::span<const std::uint8_t> in_;
    std::size_t chunk_;
    std::size_t off_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::vector<std::uint8_t> in(data, data + size);  // exact-size copy for ASan
    // The header alone.
    std::optional<Header> hdr;
    if (in.size() >= kHeaderSize) {
        auto h = parse_header(std::span<const std::uint8_t, kHeaderSize>(in.data(), kHeaderSize));
        if (h) {
            const auto back = encode_header(*h);
            if (!std::equal(back.begin(), back.end(), in.begin())) std::abort();
            hdr = *h;
        } else if (to_string(h.error()).empty()) {
            std::abort();
        }
    }
    // The server on the whole stream, read in chunks of 1..8 bytes (from the first byte).
    {
        static const ServerEnv env;  // 128 KiB of buffers, made once
        ServerCounters c;
        ServerConn s;
        StreamIo io(in, 1 + (size > 0 ? in[0] % 8 : 0));
        ServerConn::Step st = ServerConn::Step::Continue;
        for (int i = 0; i < 100000 && st == ServerConn::Step::Continue; ++i) st = s.on_event(env, io, c);
        if (st == ServerConn::Step::Continue && !(hdr && hdr->mode == Mode::Bulk && hdr->direction == Direction::Recv)) {
            std::abort();  // the stream ended: the server must be done with it
        }
        if ((st == ServerConn::Step::Refuse) != (in.size() >= kHeaderSize && !hdr)) std::abort();
        if (st == ServerConn::Step::Refuse && (c.refused != 1 || !s.refused_why())) std::abort();
        if (hdr && (hdr->mode == Mode::Rr || hdr->mode == Mode::Crr)) {
            const std::uint64_t requests = (in.size() - kHeaderSize) / hdr->req_size;
            if (c.requests != requests || io.sent > requests * hdr->resp_size) std::abort();
        }
        if (hdr && (hdr->mode == Mode::Hold || (hdr->mode == Mode::Bulk && hdr->direction == Direction::Send)) && io.sent != 0) {
            std::abort();
        }
    }
    // The HTTP response reader, fed in two pieces.
    {
        HttpResponseReader r;
        const std::size_t cut = size > 0 ? in[size - 1] % (size + 1) : 0;
        std::span<const std::uint8_t> rest(in);
        for (std::span<const std::uint8_t> piece : {rest.first(cut), rest.subspan(cut)}) {
            while (!piece.empty() && r.state() != HttpResponseReader::State::Failed) {
                std::optional<HttpResponseReader::Response> done;
                const std::size_t used = r.feed(piece, done);
                if (used > piece.size()) std::abort();
                if (done && (done->status < 100 || done->status > 999)) std::abort();
                if (used == 0 && r.state() != HttpResponseReader::State::Failed) std::abort();  // no progress
                piece = piece.subspan(used);
            }
        }
        if (r.state() == HttpResponseReader::State::Failed && r.error().empty()) std::abort();
        (void)r.on_eof();
    }
    return 0;
}
