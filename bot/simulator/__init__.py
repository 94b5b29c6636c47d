"""The local WeChat simulator: plays WeChat's server against a wxloan webhook.

* :mod:`.protocol` builds signed (and encrypted) pushes and reads replies, exactly as
  WeChat's servers do, for both channels;
* :mod:`.client` sends them over HTTP and times the replies;
* :mod:`.transcript` records a session in the conversation-test YAML format;
* :mod:`.local` starts a webhook and a stand-in WeChat API in-process;
* :mod:`.chat` is ``wxloan chat`` (terminal), :mod:`.web` is ``wxloan simulate`` (browser).
"""
