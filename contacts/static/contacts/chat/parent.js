/* The chat toolbar page: which parent is this chat with, then that parent's card.
 *
 * It registers with the WeCom JS-SDK (the global `ww` of the vendored @wecom/jssdk), whose
 * signature callbacks ask this site to sign the page, then asks WeCom for the parent of the
 * current chat (getCurExternalContact) and inserts the card the server renders for them. Every
 * failure ends in a sentence on the page saying what to do.
 */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("chat-config").textContent);
  var messages = config.messages;
  var statusBox = document.getElementById("chat-status");
  var cardBox = document.getElementById("parent-card");

  // A failure this page explains itself; `retry` offers to load the page again.
  function Problem(text, retry) {
    this.text = text;
    this.retry = retry;
  }

  function showStatus(text, options) {
    options = options || {};
    statusBox.hidden = false;
    statusBox.className = "chat-status" + (options.problem ? " problem" : "");
    statusBox.textContent = "";
    var paragraph = document.createElement("p");
    paragraph.textContent = text;
    statusBox.appendChild(paragraph);
    if (options.retry) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button";
      button.textContent = messages.retry;
      button.addEventListener("click", function () { window.location.reload(); });
      statusBox.appendChild(button);
    }
  }

  function showProblem(problem) {
    showStatus(problem.text, { problem: true, retry: problem.retry });
  }

  function request(url, options) {
    return fetch(url, Object.assign({ credentials: "same-origin" }, options)).catch(function () {
      throw new Problem(messages.unreachable, true);
    });
  }

  function signature(kind, url) {
    var query = new URLSearchParams({ kind: kind, url: url });
    return request(config.signatureUrl + "?" + query.toString(), { headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (answer) {
          if (!response.ok) {
            // Loading the page again signs a member whose session ended in again; a refusal stays one.
            throw new Problem(answer.error || messages.unreachable, response.status !== 403);
          }
          return answer;
        });
      });
  }

  function putCard(response) {
    return response.text().then(function (html) {
      statusBox.hidden = true;
      cardBox.innerHTML = html;
    });
  }

  function loadCard(externalUserId) {
    var query = new URLSearchParams({ external_userid: externalUserId });
    return request(config.cardUrl + "?" + query.toString(), { headers: { Accept: "text/html" } }).then(putCard);
  }

  // The card's refresh button posts its form (with its CSRF token) and shows the card it gets back.
  cardBox.addEventListener("submit", function (event) {
    var form = event.target.closest("form.refresh-form");
    if (!form) {
      return;
    }
    event.preventDefault();
    var button = form.querySelector("button");
    button.disabled = true;
    request(form.action, { method: "POST", body: new FormData(form), headers: { Accept: "text/html" } })
      .then(putCard)
      .catch(function (problem) {
        button.disabled = false;
        showProblem(problem instanceof Problem ? problem : new Problem(messages.unreachable, true));
      });
  });

  function reasonOf(error) {
    return (error && (error.errMsg || error.message)) || String(error);
  }

  function explain(error) {
    if (error instanceof Problem) {
      return error;
    }
    var reason = reasonOf(error);
    if (/without context/i.test(reason)) {
      return new Problem(messages.notInChat, false);
    }
    return new Problem(messages.sdkRefused.replace("%(reason)s", reason), true);
  }

  function start() {
    if (!/wxwork/i.test(navigator.userAgent)) {
      showStatus(messages.notInWecom, { problem: true });
      return;
    }
    var ww = window.ww;
    if (!ww || typeof ww.register !== "function") {
      showStatus(messages.sdkMissing, { problem: true, retry: true });
      return;
    }
    // An app of the school's own (自建应用) signs in as the app (agentConfig); WeCom before 3.0.24
    // also wants the school's signature (config) first. The SDK asks for what it needs.
    ww.register({
      corpId: config.corpId,
      agentId: config.agentId,
      jsApiList: ["getCurExternalContact"],
      getConfigSignature: function (url) { return signature("config", url); },
      getAgentConfigSignature: function (url) { return signature("agent_config", url); }
    });
    ww.getCurExternalContact()
      .then(function (contact) {
        if (!contact || !contact.userId) {
          throw new Problem(messages.notInChat, false);
        }
        return loadCard(contact.userId);
      })
      .catch(function (error) { showProblem(explain(error)); });
  }

  start();
})();
