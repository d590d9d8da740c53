;;; eglot-session.el --- Drive Xencode through Eglot in `emacs --batch'  -*- lexical-binding: t; -*-

;;; Commentary:

;; Run by test/e2e/emacs.test.ts as
;;   emacs --batch -Q -l clients/emacs/xencode.el -l test/e2e/emacs/eglot-session.el
;; with, in the environment:
;;   XENCODE_E2E_NODE, XENCODE_E2E_CLI  the server command (node and dist/server/cli.js)
;;   XENCODE_E2E_HOST                  the Ollama stand-in's URL
;;   XENCODE_E2E_FIM, XENCODE_E2E_CHAT  the completion and the action/hover model
;;   XENCODE_E2E_FILE                  the TypeScript file to open (in a temporary workspace)
;;   XENCODE_E2E_RESULT                where to write the JSON result
;; It goes through what a user does: M-x eglot, completion-at-point, eglot-code-actions (picking
;; "Xencode: Refactor ...", then Optimize, which the model cannot answer, then Explain), the eldoc
;; hover, M-x xencode-stats and M-x xencode-clear-cache; it records what each step saw and exits 0,
;; or 1 when a step signalled an error.  The assertions are the test's, on the result file.

;;; Code:

(require 'cl-lib)
(require 'json)
(require 'eglot)

(defvar xencode-e2e--result nil "The result, a plist written as JSON at exit.")
(defvar xencode-e2e--errors nil "Errors of the steps, as strings.")
(defvar xencode-e2e--server nil "The Eglot connection.")

(defun xencode-e2e--env (name)
  "The environment variable NAME, which must be set."
  (or (getenv name) (error "Environment variable %s is not set" name)))

(defun xencode-e2e--put (key value)
  "Record VALUE under KEY in the result."
  (setq xencode-e2e--result (plist-put xencode-e2e--result key value)))

(defmacro xencode-e2e--step (name &rest body)
  "Run BODY; an error is recorded under NAME and the next steps still run."
  (declare (indent 1))
  `(condition-case err
       (progn ,@body)
     (error (push (format "%s: %s" ,name (error-message-string err)) xencode-e2e--errors))))

(defun xencode-e2e--wait (predicate seconds)
  "Process output until PREDICATE returns non-nil, at most SECONDS; return its value."
  (let ((deadline (+ (float-time) seconds))
        value)
    (while (and (not (setq value (funcall predicate))) (< (float-time) deadline))
      (accept-process-output nil 0.05))
    value))

(defun xencode-e2e--code-action (prefix)
  "Run M-x eglot-code-actions inside `add', picking the action whose title starts with PREFIX.
Return the titles offered."
  (goto-char (point-min))
  (search-forward "const sum")
  (let ((offered nil)
        ;; In batch, `last-nonmenu-event' is nil, which makes Eglot use `x-popup-menu' (which shows
        ;; nothing and picks nothing): a key event makes it ask `completing-read'.
        (last-nonmenu-event ?\r))
    ;; The menu: `completing-read-function' (rebinding the `completing-read' subr with cl-letf makes
    ;; this native-compiled Emacs build a trampoline, which needs libgccjit).
    (let ((completing-read-function
           (lambda (_prompt collection &rest _)
             (setq offered (mapcar (lambda (c) (if (consp c) (car c) c)) collection))
             (or (cl-find-if (lambda (title) (string-prefix-p prefix title)) offered)
                 (error "No %s... action in %S" prefix offered)))))
      (call-interactively #'eglot-code-actions))
    (vconcat offered)))

(defun xencode-e2e--finish (code)
  "Write the result file and leave Emacs with exit CODE."
  (when xencode-e2e--errors
    (xencode-e2e--put :errors (vconcat (reverse xencode-e2e--errors))))
  (let ((json (json-serialize xencode-e2e--result :null-object nil :false-object :json-false))
        (coding-system-for-write 'utf-8-unix))
    (with-temp-file (xencode-e2e--env "XENCODE_E2E_RESULT")
      ;; json-serialize gives UTF-8 bytes (a unibyte string): decode them, or writing asks for a coding system.
      (insert (if (multibyte-string-p json) json (decode-coding-string json 'utf-8)))))
  (kill-emacs code))

;; A bound of its own, below the test's: whatever hangs, the result file still says how far it got.
(run-at-time 40 nil (lambda ()
                      (push "timeout: the session did not finish in 40 s" xencode-e2e--errors)
                      (xencode-e2e--finish 2)))

;; Eglot waits for the connection (eglot-sync-connect), tests without a pause; the grammar warning
;; of typescript-ts-mode (no tree-sitter grammar in a bare Emacs) is noise here.
(setq eglot-sync-connect t
      eglot-connect-timeout 20
      eglot-autoshutdown nil
      eglot-send-changes-idle-time 0
      warning-minimum-level :error
      warning-minimum-log-level :error)

(setq xencode-command (list (xencode-e2e--env "XENCODE_E2E_NODE") (xencode-e2e--env "XENCODE_E2E_CLI") "--stdio")
      xencode-settings `(:ollama (:host ,(xencode-e2e--env "XENCODE_E2E_HOST"))
                         :models [,(xencode-e2e--env "XENCODE_E2E_FIM")]
                         :actions (:models [,(xencode-e2e--env "XENCODE_E2E_CHAT")])
                         :hover (:deadlineMs 10000)))
(xencode-eglot-setup)

(condition-case err
    (progn
      ;; Open the file as a user does, then the mode a TypeScript user has.
      (find-file (xencode-e2e--env "XENCODE_E2E_FILE"))
      (typescript-ts-mode)
      (switch-to-buffer (current-buffer))

      ;; M-x eglot
      (call-interactively #'eglot)
      (setq xencode-e2e--server (eglot-current-server))
      (unless xencode-e2e--server (error "Eglot did not connect"))
      (xencode-e2e--put :serverClass (symbol-name (eieio-object-class-name xencode-e2e--server)))
      (xencode-e2e--put :serverName (plist-get (eglot--server-info xencode-e2e--server) :name))
      ;; What Eglot sent in didOpen.
      (xencode-e2e--put :languageId (plist-get (eglot--TextDocumentItem) :languageId))

      ;; Completion: completion-at-point after `return ' in `scale'.
      (xencode-e2e--step "completion"
        (goto-char (point-min))
        (search-forward "return \n")
        (backward-char 1)
        (let* ((capf (eglot-completion-at-point))
               (prefix (buffer-substring-no-properties (nth 0 capf) (nth 1 capf)))
               (candidates (all-completions prefix (nth 2 capf))))
          (xencode-e2e--put :candidates (vconcat (mapcar #'substring-no-properties candidates))))
        (completion-at-point)
        (xencode-e2e--put :lineAfterCompletion
                          (buffer-substring-no-properties (line-beginning-position) (line-end-position))))

      ;; Eglot ignores a completion item's command; xencode.el sends xencode.acceptCompletion itself.
      (xencode-e2e--step "accept"
        (xencode-e2e--put :accepted
                          (xencode-e2e--wait
                           (lambda ()
                             (let* ((stats (xencode--execute-command "xencode.stats"))
                                    (accepted (plist-get (plist-get stats :feedback) :accepted)))
                               (and (numberp accepted) (> accepted 0) accepted)))
                           5)))

      ;; Code actions: M-x eglot-code-actions in `add', picking "Xencode: Refactor ...".
      (xencode-e2e--step "code action"
        (xencode-e2e--put :actionTitles (xencode-e2e--code-action "Xencode: Refactor"))
        (xencode-e2e--put :bufferAfterAction (buffer-substring-no-properties (point-min) (point-max))))

      ;; An action whose model gives nothing usable changes nothing, and ends (Eglot alone would resolve
      ;; it again and again: the answer still has `data' and no edit).
      (xencode-e2e--step "unusable action"
        (xencode-e2e--code-action "Xencode: Optimize")
        (xencode-e2e--put :bufferAfterUnusable (buffer-substring-no-properties (point-min) (point-max))))

      ;; Explain: the server writes the markdown and asks Eglot to show it (window/showDocument).
      (xencode-e2e--step "explain"
        (let ((source (current-buffer)))
          (xencode-e2e--code-action "Xencode: Explain")
          ;; Eglot opens it from a timer.
          (when-let* ((shown (xencode-e2e--wait
                              (lambda ()
                                (cl-find-if (lambda (b)
                                              (string-match-p "/explanations/" (or (buffer-file-name b) "")))
                                            (buffer-list)))
                              5)))
            (xencode-e2e--put :explanation (with-current-buffer shown (buffer-string))))
          (set-buffer source)
          (switch-to-buffer source)))

      ;; Hover: what eldoc shows on the name `add' (Eglot's hover through eldoc).
      (xencode-e2e--step "hover"
        (goto-char (point-min))
        (search-forward "  add")
        (backward-char 1)
        (let ((shown nil))
          (eglot-hover-eldoc-function (lambda (info &rest _) (setq shown (or info ""))))
          (xencode-e2e--put :hover (xencode-e2e--wait (lambda () shown) 15))))

      ;; M-x xencode-stats shows the server's statistics in a buffer.
      (xencode-e2e--step "stats"
        (let ((buffer (call-interactively #'xencode-stats)))
          (xencode-e2e--put :statsBuffer (with-current-buffer buffer (buffer-string)))))

      ;; M-x xencode-clear-cache
      (xencode-e2e--step "clear cache"
        (call-interactively #'xencode-clear-cache)
        (xencode-e2e--put :cacheCleared t))

      (xencode-e2e--step "shutdown"
        (when xencode-e2e--errors
          (with-current-buffer (jsonrpc-events-buffer xencode-e2e--server)
            (xencode-e2e--put :events (buffer-substring-no-properties
                                       (max (point-min) (- (point-max) 6000)) (point-max)))))
        (eglot-shutdown xencode-e2e--server)))
  (error (push (format "session: %s" (error-message-string err)) xencode-e2e--errors)))

(xencode-e2e--finish (if xencode-e2e--errors 1 0))

;;; eglot-session.el ends here
