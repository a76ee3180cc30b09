// The life of an upgraded socket: start, queue, flush, close.
#pragma once

#include <string>
#include <string_view>

#include "ngx_presence_socket.hpp"

namespace presence::ngx {

// Starts the socket: writes what is queued (the 101 answer), then reads
// first_bytes as the first bytes received.
void ws_start(WsConn* conn, std::string_view first_bytes) noexcept;
// Queues the text of one message answering what the peer sent. Its bound was
// checked before that message was handled: the peer's input is not read
// while its queue is over the bound (back-pressure), so a peer that does not
// read is held to its reading pace, and closed with 1008 when it has read
// nothing for its idle timeout. False when the socket is closing.
bool ws_queue_text(WsConn* conn, std::string_view text) noexcept;
void ws_flush(WsConn* conn) noexcept;
void ws_begin_close(WsConn* conn, presence::ws::CloseCode code, std::string_view reason) noexcept;
// Closes every open socket of this worker (shutdown, reload).
void ws_close_all(presence::ws::CloseCode code, std::string_view reason) noexcept;

}  // namespace presence::ngx
