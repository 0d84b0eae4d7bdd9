"""What the server answers a request its HTTP parser refused, usually a link too long for it (uvicorn with
httptools takes about 64 KB of request head; h11 16 KB): a short HTML page that says why and links to the same
page without the link's values, instead of uvicorn's plain "Invalid HTTP request received." GenLab's own links
stay far below (genlab.ui.links.LINK_LIMIT), and a page refuses an over-long value with its own message.
app.py installs it; scripts/serve.sh writes the same page for nginx's 414. No torch, no Streamlit."""
from __future__ import annotations

TOO_LONG = ("<!doctype html><meta charset=utf-8><title>GenLab: link too long</title>"
            "<body style='font-family:sans-serif;max-width:40em;margin:4em auto'><h1>This link is too long</h1>"
            "<p>The server could not read this request: a link over about 64 KB (64,000 characters) is more than "
            "it takes. GenLab's own links stay under 8,000 characters.</p><p><a href='{path}'>Open {path} "
            "without the link's values</a></p>")


def too_long_page(url: bytes) -> bytes:
    """TOO_LONG for the request's (partial) URL: its path when it is a plain one, else the home page."""
    path = bytes(url or b"").split(b"?", 1)[0].decode("ascii", "replace")
    if not path.startswith("/") or len(path) > 200 or any(c in path for c in "<>'\"\\&"):
        path = "/"
    return TOO_LONG.format(path=path).encode()


def friendly_400(protocol_class) -> None:
    """Make uvicorn's `protocol_class` answer a refused request with too_long_page (HTML)."""
    plain = protocol_class.send_400_response

    def send_400_response(self, msg: str) -> None:
        page = too_long_page(getattr(self, "url", b""))
        head = [b"HTTP/1.1 400 Bad Request\r\n"] + [name + b": " + value + b"\r\n"
                                                      for name, value in self.server_state.default_headers]
        try:
            self.transport.write(b"".join(head + [b"content-type: text/html; charset=utf-8\r\n",
                                                  b"content-length: " + str(len(page)).encode() + b"\r\n",
                                                  b"connection: close\r\n\r\n", page]))
            self.transport.close()
        except Exception:            # noqa: BLE001 - the plain answer, as before
            plain(self, msg)

    protocol_class.send_400_response = send_400_response


def install() -> None:
    """For uvicorn's httptools protocol (the one it picks where httptools is installed)."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:
        return
    friendly_400(HttpToolsProtocol)
