// The life of an upgraded socket: start, queue, flush, close.
#pragma once

#include <string>
#include <string_view>

#include "ngx_presence_socket.hpp"

namespace presence::ngx {

// Starts the socket: writes what is queued (the 101 answer), then reads
// first_bytes as the first bytes received.
void ws_start(WsConn* conn, std::string_view first_bytes) noexcept;
// Queues the text of one message; false when the queue is over its bound
// (the connection is then closing, or the admin marked stale).
bool ws_queue_text(WsConn* conn, std::string_view text) noexcept;
// A text frame built in place: its payload starts kFrameGap bytes into the
// string, room left for the header. ws_frame_in_place writes the header and
// returns where the frame begins; ws_queue_frame queues it (under the same
// bound as ws_queue_text), taking the string itself when `take` is set and
// nothing is waiting, so a multi-megabyte feed message is never copied.
inline constexpr size_t kFrameGap = presence::ws::kMaxFrameHeaderBytes;
size_t ws_frame_in_place(std::string& frame) noexcept;
bool ws_queue_frame(WsConn* conn, std::string& frame, size_t begin, bool take) noexcept;
// Queues an admin's stats push outside that bound: stats are small and say
// where the store is now, so they must not wait for a presence feed the admin
// is slow to read, nor mark its feed stale. An admin that keeps up gets them
// behind what is queued (never ahead of the diffs they count); a congested
// one (its presence view is behind anyway) gets them ahead of its queued
// presence data, at the next frame boundary. At most one stats frame waits
// at a time; false (the caller retries next tick) while one does.
bool ws_queue_stats(WsConn* conn, std::string_view text) noexcept;
void ws_flush(WsConn* conn) noexcept;
void ws_begin_close(WsConn* conn, presence::ws::CloseCode code, std::string_view reason) noexcept;
// Closes every open socket of this worker (shutdown, reload).
void ws_close_all(presence::ws::CloseCode code, std::string_view reason) noexcept;

}  // namespace presence::ngx
