; The file's imports, shown to the model when they lie outside the context window.
; Used by server/context/header.ts; shared by JavaScript and TypeScript (their imports.scm: `; inherits: ecma`).

; import x from 'y';   import { a } from 'y';   import * as ns from 'y';   import 'side-effect';
(import_statement) @import

; const x = require('y');   const { a, b } = require('y');   const z = require('y').z;   const d = require('y')('ns');
(lexical_declaration
  (variable_declarator
    value: [
      (call_expression function: (identifier) @_require)
      (member_expression object: (call_expression function: (identifier) @_require))
      (call_expression function: (call_expression function: (identifier) @_require))
    ])
  (#eq? @_require "require")) @import

; var x = require('y');
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
