; The file's imports, shown to the model when they lie outside the context window.
; Used by server/context/header.ts (TypeScript and TSX) with maxStartDepth 1: top-level statements only.

; import x from 'y';   import type { T } from 'y';   import * as ns from 'y';   import 'side-effect';
; import fs = require('fs');
(import_statement) @import

; CommonJS in TypeScript: const x = require('y');   const { a } = require('y');   const z = require('y').z;
; const d = require('y')('ns');
(lexical_declaration
  (variable_declarator
    value: [
      (call_expression function: (identifier) @_require)
      (member_expression object: (call_expression function: (identifier) @_require))
      (call_expression function: (call_expression function: (identifier) @_require))
    ])
  (#eq? @_require "require")) @import

(variable_declaration
  (variable_declarator
    value: [
      (call_expression function: (identifier) @_require)
      (member_expression object: (call_expression function: (identifier) @_require))
      (call_expression function: (call_expression function: (identifier) @_require))
    ])
  (#eq? @_require "require")) @import

; require('side-effect');
(expression_statement
  (call_expression function: (identifier) @_require)
  (#eq? @_require "require")) @import
