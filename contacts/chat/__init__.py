"""The chat toolbar (聊天工具栏): inside a WeCom chat with a parent, the card of that parent."""
