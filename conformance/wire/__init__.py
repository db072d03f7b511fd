"""The wire: requests, follow-ups, HTTP transport, exchanges, SSE, stores."""
