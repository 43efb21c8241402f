// tests/support/sha256.hpp against the FIPS 180-2 appendix B examples (and the empty
// message), fed in one piece and in odd-sized pieces.
#include <gtest/gtest.h>

#include <string_view>
#include <vector>

#include "sha256.hpp"

namespace {

std::string hash(std::string_view s, std::size_t piece) {
    test_support::Sha256 h;
    const auto* p = reinterpret_cast<const std::uint8_t*>(s.data());
    for (std::size_t at = 0; at < s.size(); at += piece) h.update({p + at, std::min(piece, s.size() - at)});
    return h.hex();
}

}  // namespace

TEST(Sha256, KnownVectors) {
    const std::string million(1'000'000, 'a');
    const std::pair<std::string_view, std::string_view> v[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {million, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
    };
    for (const auto& [msg, want] : v) {
        EXPECT_EQ(hash(msg, msg.size() + 1), want);
        EXPECT_EQ(hash(msg, 7), want);
    }
    // digest() starts over.
    test_support::Sha256 h;
    h.update({reinterpret_cast<const std::uint8_t*>("abc"), 3});
    (void)h.hex();
    EXPECT_EQ(h.hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
